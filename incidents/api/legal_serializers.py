"""Read and write serializers of the legal workspace (referrals, obligations, evidence, record)."""

from __future__ import annotations

from rest_framework import serializers

from incidents.api.serializers import (
    MAX_ID,
    StrictInputMixin,
)
from incidents.choices import Authority
from incidents.legal.obligations import OBLIGATION
from incidents.legal.referrals import REFERRAL
from incidents.machines import allowed_names
from incidents.models import (
    EVIDENCE_FILE,
    REFERRAL_RECORD,
    VERDICT,
    CustodyEntry,
    Evidence,
    JurisdictionRule,
    Obligation,
    Referral,
    VerificationRun,
)


def _referral_text(name: str) -> serializers.CharField:
    """An optional text field as long as the referral's column allows."""
    limit = Referral._meta.get_field(name).max_length
    return serializers.CharField(max_length=limit, required=False, allow_blank=True)


class ReferralWriteSerializer(StrictInputMixin, serializers.Serializer):
    read_only_names = (
        "id",
        "state",
        "submitted_at",
        "acknowledged_at",
        "concluded_at",
        "outcome",
        "withdrawn_reason",
        "version",
        "evidence",
        "incident",
    )

    authority = serializers.ChoiceField(choices=Authority.choices)
    authority_name = _referral_text("authority_name")
    case_number = _referral_text("case_number")
    contact = _referral_text("contact")
    notes = _referral_text("notes")


class HandoverSerializer(StrictInputMixin, serializers.Serializer):
    evidence = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1, max_length=500
    )
    note = serializers.CharField(
        max_length=CustodyEntry._meta.get_field("note").max_length, required=False, allow_blank=True
    )


class ReferralSerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    evidence = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    available_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Referral
        fields = (
            "incident",
            *REFERRAL_RECORD,
            "evidence",
            "created_by",
            "created_at",
            "version",
            "available_transitions",
        )
        read_only_fields = fields

    def get_available_transitions(self, referral: Referral) -> list[str]:
        return allowed_names(REFERRAL, referral, self.context["request"].user)


class ObligationSerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    rule = serializers.SlugRelatedField(slug_field="code", read_only=True)
    company_policy = serializers.BooleanField(source="rule.is_policy", read_only=True)
    step = serializers.CharField(source="step_key", read_only=True)
    # Undecided is null: said so in the schema (issue 17 item 5).
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    overdue = serializers.SerializerMethodField()
    available_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Obligation
        fields = (
            "id",
            "incident",
            "rule",
            "company_policy",
            "step",
            "step_name",
            "recipient",
            "offset_hours",
            "due_at",
            "overdue",
            "state",
            "note",
            "document",
            "decided_by",
            "decided_at",
            "version",
            "available_transitions",
        )
        read_only_fields = fields

    def get_overdue(self, obligation: Obligation) -> bool:
        return obligation.state == Obligation.OPEN and obligation.due_at <= self.context["now"]

    def get_available_transitions(self, obligation: Obligation) -> list[str]:
        return allowed_names(OBLIGATION, obligation, self.context["request"].user)


class JurisdictionRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = JurisdictionRule
        fields = (
            "code",
            "title",
            "description",
            "enabled",
            "is_policy",
            "requires_personal_data",
            "data_categories",
            "min_subjects",
            "requires_high_risk",
            "steps",
        )
        read_only_fields = fields


class CustodyEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_username", read_only=True)

    class Meta:
        model = CustodyEntry
        fields = ("at", "action", "actor", "role", "note", "referral")
        read_only_fields = fields


class EvidenceSerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    custody = CustodyEntrySerializer(many=True, read_only=True)

    class Meta:
        model = Evidence
        fields = (
            "id",
            "incident",
            *EVIDENCE_FILE,
            "description",
            "uploaded_by",
            "uploaded_at",
            "integrity_failed_at",
            "custody",
        )
        read_only_fields = fields


class EvidenceUploadSerializer(StrictInputMixin, serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, max_length=10000)
    description = serializers.CharField(
        max_length=Evidence._meta.get_field("description").max_length,
        required=False,
        allow_blank=True,
    )
    note = serializers.CharField(
        max_length=CustodyEntry._meta.get_field("note").max_length, required=False, allow_blank=True
    )


class VerificationRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = VerificationRun
        # from_seq: 0 for a walk of the whole chain, else the signed checkpoint an incremental
        # walk began at; checkpoints: how many signed checkpoints' signatures it checked.
        fields = ("finished_at", *VERDICT, "expected", "source", "from_seq", "checkpoints")
        read_only_fields = fields
