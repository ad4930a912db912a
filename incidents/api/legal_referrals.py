"""Referral endpoints: list/create under an incident, read/edit one, run its transitions,
record an evidence handover. Thin views (STYLE.md rule 7); errors via the one handler."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api.legal_serializers import (
    HandoverSerializer,
    ReferralSerializer,
    ReferralWriteSerializer,
)
from incidents.api.payloads import payload_serializer
from incidents.api.views import run_edit, run_transition
from incidents.legal.referrals import (
    REFERRAL,
    create_referral,
    ensure_may_write_referrals,
    hand_over_evidence,
    update_referral,
)
from incidents.models import Incident, Referral


def incident_for(request: Request, reference: str) -> Incident:
    return get_object_or_404(Incident.objects.visible_to(request.user), reference=reference)


def referral_for(request: Request, pk: int) -> Referral:
    visible = Referral.objects.filter(incident__in=Incident.objects.visible_to(request.user))
    return get_object_or_404(visible.select_related("incident"), pk=pk)


def answer(request: Request, referral: Referral, code: int = status.HTTP_200_OK) -> Response:
    body = ReferralSerializer(referral, context={"request": request}).data
    return Response(body, status=code, headers={"ETag": f'"{referral.version}"'})


class IncidentReferralsView(APIView):
    @extend_schema(responses={200: ReferralSerializer(many=True)})
    def get(self, request: Request, reference: str) -> Response:
        referrals = incident_for(request, reference).referrals.prefetch_related("evidence")
        return Response(ReferralSerializer(referrals, many=True, context={"request": request}).data)

    @extend_schema(request=ReferralWriteSerializer, responses={201: ReferralSerializer})
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_for(request, reference)
        ensure_may_write_referrals(request.user)  # 403 before any complaint about the body
        data = ReferralWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        referral, _ = create_referral(incident, actor=request.user, data=data.validated_data)
        return answer(request, referral, status.HTTP_201_CREATED)


class ReferralView(APIView):
    @extend_schema(responses={200: ReferralSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return answer(request, referral_for(request, pk))

    @extend_schema(request=ReferralWriteSerializer, responses={200: ReferralSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        referral = referral_for(request, pk)
        ensure_may_write_referrals(request.user)
        referral = run_edit(request, referral, ReferralWriteSerializer, update_referral)
        return answer(request, referral)


class ReferralTransitionView(APIView):
    @extend_schema(request=payload_serializer(REFERRAL), responses={200: ReferralSerializer})
    def post(self, request: Request, pk: int, name: str) -> Response:
        referral = run_transition(request, REFERRAL, referral_for(request, pk), name)
        return answer(request, referral)


class ReferralHandoverView(APIView):
    @extend_schema(request=HandoverSerializer, responses={200: ReferralSerializer})
    def post(self, request: Request, pk: int) -> Response:
        referral = referral_for(request, pk)
        ensure_may_write_referrals(request.user)
        data = HandoverSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hand_over_evidence(
            referral,
            actor=request.user,
            evidence_ids=data.validated_data["evidence"],
            note=data.validated_data.get("note", ""),
        )
        referral.refresh_from_db()
        return answer(request, referral)
