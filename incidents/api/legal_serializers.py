"""Read and write serializers of the legal workspace (referrals, obligations, evidence, record)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from incidents.api.serializers import (
    MAX_ID,
    MomentField,
    RecordIdField,
    StrictInputMixin,
    check_accepted,
    check_other_named,
)
from incidents.choices import Authority
from incidents.models import (
    CustodyEntry,
    Evidence,
    JurisdictionRule,
    Obligation,
    Referral,
    VerificationRun,
)
from incidents.record_transitions import allowed_names


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
    authority_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    case_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    contact = serializers.CharField(max_length=300, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=20000, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        check_other_named(attrs, self.instance)
        return attrs


class ReferralTransitionSerializer(StrictInputMixin, serializers.Serializer):
    ALLOWED = {
        "submit": ("at",),
        "acknowledge": ("at", "case_number"),
        "start_investigation": ("at",),
        "conclude": ("at", "outcome"),
        "withdraw": ("reason",),
    }

    at = MomentField(required=False)
    case_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    outcome = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        check_accepted(attrs, self.ALLOWED, self.context["transition"])
        return attrs


class HandoverSerializer(StrictInputMixin, serializers.Serializer):
    evidence = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), min_length=1, max_length=500
    )
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class ReferralSerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    evidence = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    available_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Referral
        fields = (
            "id",
            "incident",
            "state",
            "authority",
            "authority_name",
            "case_number",
            "contact",
            "notes",
            "outcome",
            "withdrawn_reason",
            "submitted_at",
            "acknowledged_at",
            "concluded_at",
            "evidence",
            "created_by",
            "created_at",
            "version",
            "available_transitions",
        )
        read_only_fields = fields

    def get_available_transitions(self, referral: Referral) -> list[str]:
        return allowed_names(referral, self.context["request"].user)


class ObligationTransitionSerializer(StrictInputMixin, serializers.Serializer):
    note = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    document = RecordIdField(queryset=Evidence.objects.all(), required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.context["transition"] == "waive" and attrs.get("document"):
            raise serializers.ValidationError(
                {"document": [_("Not accepted by '%(name)s'.") % {"name": "waive"}]}
            )
        return attrs


class ObligationSerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    rule = serializers.SlugRelatedField(slug_field="code", read_only=True)
    company_policy = serializers.BooleanField(source="rule.is_policy", read_only=True)
    step = serializers.CharField(source="step_key", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
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
        return allowed_names(obligation, self.context["request"].user)


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
            "original_name",
            "content_type",
            "size",
            "sha256",
            "description",
            "uploaded_by",
            "uploaded_at",
            "integrity_failed_at",
            "custody",
        )
        read_only_fields = fields


class EvidenceUploadSerializer(StrictInputMixin, serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, max_length=10000)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True)


class VerificationRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = VerificationRun
        fields = (
            "finished_at",
            "ok",
            "checked",
            "last_seq",
            "last_hash",
            "broken_seq",
            "detail",
            "expected",
            "source",
        )
        read_only_fields = fields
