"""``GET/PUT /api/incidents/{ref}/notification-decision/``: the assessment of the risk to the
people affected, the proposal it gives, and legal's decision (incidents/affected/decision.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.affected.decision import (
    MEASURES_MAX_LENGTH,
    decision_of,
    ensure_may_decide,
    may_decide,
    record_decision,
)
from incidents.api.legal_referrals import incident_for
from incidents.api.serializers import StrictInputMixin
from incidents.api.views import expected_version
from incidents.choices import DataCategory
from incidents.models import (
    Consequence,
    Exemption,
    NotificationDecision,
    Outcome,
    Sensitivity,
)


class CategoryAssessmentSerializer(StrictInputMixin, serializers.Serializer):
    category = serializers.ChoiceField(choices=DataCategory.choices)
    # The category's seeded (admin-set) sensitivity unless legal judges this leak otherwise.
    sensitivity = serializers.ChoiceField(choices=Sensitivity.choices, required=False)
    unintelligible = serializers.BooleanField(
        required=False, help_text="Encrypted or otherwise unintelligible to whoever has it."
    )


class AssessmentSerializer(StrictInputMixin, serializers.Serializer):
    categories = CategoryAssessmentSerializer(many=True, required=False)
    consequences = serializers.ListField(
        child=serializers.ChoiceField(choices=Consequence.choices), required=False, max_length=20
    )
    measures = serializers.CharField(
        max_length=MEASURES_MAX_LENGTH,
        allow_blank=True,
        required=False,
        help_text="Measures taken or proposed to mitigate the harm (GDPR art. 33(3)(d)).",
    )
    subjects = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The incident's affected-people estimate."
    )


class DecisionWriteSerializer(StrictInputMixin, serializers.Serializer):
    assessment = AssessmentSerializer(required=False)
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    exemption = serializers.ChoiceField(
        choices=Exemption.choices,
        required=False,
        allow_blank=True,
        help_text="Required when the outcome is not_required; empty otherwise.",
    )
    reason = serializers.CharField(
        max_length=NotificationDecision._meta.get_field("reason").max_length,
        required=False,
        allow_blank=True,
        help_text="Required for notify and not_required.",
    )


class DecisionSerializer(serializers.ModelSerializer):
    assessment = AssessmentSerializer(read_only=True)
    exemption = serializers.ChoiceField(choices=Exemption.choices, allow_blank=True)
    proposed_exemption = serializers.ChoiceField(choices=Exemption.choices, allow_blank=True)
    risk = serializers.ChoiceField(choices=Sensitivity.choices, allow_blank=True)
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    high_risk = serializers.SerializerMethodField()
    may_decide = serializers.SerializerMethodField()

    class Meta:
        model = NotificationDecision
        fields = (
            "assessment",
            "risk",
            "proposed",
            "proposed_exemption",
            "outcome",
            "exemption",
            "reason",
            "decided_by",
            "decided_at",
            "stale",
            "stale_since",
            "high_risk",
            "may_decide",
            "version",
        )
        read_only_fields = fields

    def get_high_risk(self, decision: NotificationDecision) -> bool:
        return decision.incident.high_risk

    def get_may_decide(self, decision: NotificationDecision) -> bool:
        return may_decide(self.context["request"].user)


def _answer(request: Request, decision: NotificationDecision) -> Response:
    body = DecisionSerializer(decision, context={"request": request}).data
    return Response(body, headers={"ETag": f'"{decision.version}"'})


class NotificationDecisionView(APIView):
    """Everyone who reads the incident reads its decision; legal and admins record it. Version
    0 is the decision not yet recorded (``If-Match: "0"`` to record the first one)."""

    @extend_schema(responses={200: DecisionSerializer})
    def get(self, request: Request, reference: str) -> Response:
        return _answer(request, decision_of(incident_for(request, reference)))

    @extend_schema(request=DecisionWriteSerializer, responses={200: DecisionSerializer})
    def put(self, request: Request, reference: str) -> Response:
        incident = incident_for(request, reference)
        ensure_may_decide(request.user)
        given = DecisionWriteSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data: dict[str, Any] = dict(given.validated_data)
        decision, _event = record_decision(
            incident.reference,
            actor=request.user,
            outcome=data["outcome"],
            exemption=data.get("exemption", ""),
            reason=data.get("reason", ""),
            assessment=data.get("assessment"),
            expected_version=expected_version(request),
        )
        return _answer(request, decision)
