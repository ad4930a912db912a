"""Obligation endpoints: an incident's deadlines, the dashboard list, fulfil / waive."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api.legal_referrals import incident_for
from incidents.api.legal_serializers import (
    JurisdictionRuleSerializer,
    ObligationSerializer,
)
from incidents.api.payloads import payload_serializer
from incidents.api.serializers import MomentField
from incidents.api.views import run_transition
from incidents.legal.obligations import OBLIGATION
from incidents.models import JurisdictionRule, Obligation


def _context(request: Request) -> dict[str, Any]:
    return {"request": request, "now": timezone.now()}


class IncidentObligationsView(APIView):
    @extend_schema(responses={200: ObligationSerializer(many=True)})
    def get(self, request: Request, reference: str) -> Response:
        obligations = incident_for(request, reference).obligations.for_dashboard()
        body = ObligationSerializer(obligations, many=True, context=_context(request)).data
        return Response(body)


class ObligationListView(ListAPIView):
    """The dashboard's deadlines: ``?status=open&due_before=<ISO time>``, soonest first."""

    serializer_class = ObligationSerializer
    filter_backends: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=[s for s, _label in Obligation.STATES]
            ),
            OpenApiParameter("due_before", OpenApiTypes.DATETIME),
            OpenApiParameter("incident", OpenApiTypes.STR),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": timezone.now()}

    def get_queryset(self) -> Any:
        params = self.request.query_params
        obligations = Obligation.objects.visible_to(self.request.user).for_dashboard()
        state = params.get("status")
        if state:
            if state not in {s for s, _label in Obligation.STATES}:
                raise ValidationError(
                    {"status": [_("Unknown status '%(state)s'.") % {"state": state}]}
                )
            obligations = obligations.filter(state=state)
        if params.get("due_before"):
            try:
                moment = MomentField().to_internal_value(params["due_before"])
            except ValidationError:
                raise ValidationError({"due_before": [_("Give an ISO 8601 date-time.")]}) from None
            obligations = obligations.due_before(moment)
        if params.get("incident"):
            obligations = obligations.filter(incident__reference=params["incident"])
        return obligations


class ObligationTransitionView(APIView):
    @extend_schema(request=payload_serializer(OBLIGATION), responses={200: ObligationSerializer})
    def post(self, request: Request, pk: int, name: str) -> Response:
        visible = Obligation.objects.visible_to(request.user).select_related("rule", "incident")
        obligation = run_transition(request, OBLIGATION, get_object_or_404(visible, pk=pk), name)
        body = ObligationSerializer(obligation, context=_context(request)).data
        return Response(body, headers={"ETag": f'"{obligation.version}"'})


class JurisdictionRuleListView(ListAPIView):
    """The rules in force (admins edit them in the admin site); ``is_policy`` marks company
    policy that no statute fixes, which the UI must say."""

    serializer_class = JurisdictionRuleSerializer
    filter_backends: list = []
    pagination_class = None
    queryset = JurisdictionRule.objects.all()
