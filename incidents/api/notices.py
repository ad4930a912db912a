"""Notice campaigns over the API (issue 18 part 3; incidents/affected/campaigns.py):

- ``GET  /api/incidents/{ref}/notice-campaigns/``: the incident's campaigns, with their counts;
- ``POST /api/incidents/{ref}/notice-campaigns/``: draft one, ``{}`` for the templates or
  ``{subject: {fa, en}, body: {fa, en}, sms?: {fa, en}}`` -> 201;
- ``GET  .../notice-campaigns/{id}/``: one, with ``state``, ``counts`` per status and channel,
  the first and last sent time (``ETag``: its version);
- ``POST .../notice-campaigns/{id}/approve/`` (a second legal user or an admin; the drafter is
  403) and ``.../cancel/`` (``{reason}``), both honouring ``If-Match`` (412);
- ``GET  .../notice-campaigns/{id}/preview/?lang=fa``: the letter for the register's first
  reader of that language (a made-up one when there is none).

Every role that sees the incident reads its campaigns (executives follow the progress); legal
and admins write them and preview them (a preview shows a person's name: the read is logged).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import ErrorSerializer
from incidents.affected.campaigns import (
    CAMPAIGN,
    CHANNELS,
    STATUSES,
    approve_campaign,
    cancel_campaign,
    draft_campaign,
    ensure_language,
    ensure_may_write_notices,
    preview,
    tally,
)
from incidents.affected.letters import BODY_MAX, LANGUAGES, SMS_MAX, SUBJECT_MAX
from incidents.api.legal_referrals import incident_for
from incidents.api.payloads import parse_payload, payload_serializer
from incidents.api.serializers import StrictInputMixin
from incidents.api.views import expected_version
from incidents.machines import allowed_names
from incidents.models import AccessKind, NoticeCampaign
from incidents.need_to_know import record_access


def _texts(name: str, limit: int) -> type[serializers.Serializer]:
    """A text in each notice language, ``{"fa": ..., "en": ...}``, each at most ``limit``."""
    fields = {lang: serializers.CharField(max_length=limit) for lang in LANGUAGES}
    return type(
        name, (StrictInputMixin, serializers.Serializer), {**fields, "__module__": __name__}
    )


SubjectTexts = _texts("NoticeSubjectTexts", SUBJECT_MAX)
BodyTexts = _texts("NoticeBodyTexts", BODY_MAX)
SmsTexts = _texts("NoticeSmsTexts", SMS_MAX)


class CampaignWriteSerializer(StrictInputMixin, serializers.Serializer):
    """``{}``: the templates. Or the letter's ``subject`` and ``body`` (both), and optionally
    the ``sms``, in Django template syntax (docs/notifications.md lists what they may use)."""

    subject = SubjectTexts(required=False)
    body = BodyTexts(required=False)
    sms = SmsTexts(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("subject" in attrs) != ("body" in attrs):
            missing = "body" if "subject" in attrs else "subject"
            raise serializers.ValidationError(
                {
                    missing: [
                        _("Give the subject and the body together, or neither (the templates).")
                    ]
                }
            )
        return attrs


class AdviceBlockSerializer(serializers.Serializer):
    # The data category's value (incidents.choices.DataCategory), as the incident's scope has it.
    category = serializers.CharField(read_only=True)
    text = serializers.CharField(read_only=True)


AdviceTexts = type(
    "NoticeAdviceTexts",
    (serializers.Serializer,),
    {
        **{lang: AdviceBlockSerializer(many=True, read_only=True) for lang in LANGUAGES},
        "__module__": __name__,
    },
)
StatusCounts = type(
    "NoticeStatusCounts",
    (serializers.Serializer,),
    {
        **{s: serializers.IntegerField(read_only=True) for s in STATUSES},
        "__module__": __name__,
    },
)
ChannelCounts = type(
    "NoticeChannelCounts",
    (serializers.Serializer,),
    {**{c: StatusCounts(read_only=True) for c in CHANNELS}, "__module__": __name__},
)


class CountsSerializer(serializers.Serializer):
    planned = serializers.IntegerField(read_only=True, help_text="Notices queued so far.")
    queued = serializers.IntegerField(read_only=True)
    sent = serializers.IntegerField(read_only=True)
    failed = serializers.IntegerField(read_only=True, help_text="Failed; will be retried.")
    dead = serializers.IntegerField(read_only=True, help_text="Given up: see docs.")
    by_channel = ChannelCounts(read_only=True)
    first_sent_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_sent_at = serializers.DateTimeField(read_only=True, allow_null=True)


class NoticeCampaignSerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    subject = SubjectTexts(read_only=True)
    body = BodyTexts(read_only=True)
    sms = SmsTexts(read_only=True)
    advice = AdviceTexts(read_only=True)
    drafted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    counts = serializers.SerializerMethodField()
    available_transitions = serializers.SerializerMethodField()

    class Meta:
        model = NoticeCampaign
        fields = (
            "id",
            "incident",
            "state",
            "subject",
            "body",
            "sms",
            "advice",
            "drafted_by",
            "approved_by",
            "created_at",
            "approved_at",
            "started_at",
            "finished_at",
            "cancelled_at",
            "cancelled_reason",
            "version",
            "counts",
            "available_transitions",
        )
        read_only_fields = fields

    @extend_schema_field(CountsSerializer)
    def get_counts(self, campaign: NoticeCampaign) -> dict[str, Any]:
        return CountsSerializer(self.context["counts"][campaign.pk]).data

    def get_available_transitions(self, campaign: NoticeCampaign) -> list[str]:
        return allowed_names(CAMPAIGN, campaign, self.context["request"].user)


class PreviewSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=LANGUAGES, read_only=True)
    person = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The register's person it is written for; null: a made-up sample reader.",
    )
    subject = serializers.CharField(read_only=True)
    text = serializers.CharField(read_only=True, help_text="The email's text part.")
    html = serializers.CharField(read_only=True, help_text="The email's HTML part.")
    sms = serializers.CharField(read_only=True, help_text="The SMS, for people without email.")


def campaigns_of(request: Request, reference: str) -> Any:
    incident = incident_for(request, reference)
    related = ("incident", "drafted_by", "approved_by")
    return incident.notice_campaigns.select_related(*related).order_by("created_at", "id")


def campaign_for(request: Request, reference: str, pk: int) -> NoticeCampaign:
    return get_object_or_404(campaigns_of(request, reference), pk=pk)


def answer(request: Request, campaign: NoticeCampaign, code: int = status.HTTP_200_OK) -> Response:
    context = {"request": request, "counts": tally([campaign.pk])}
    body = NoticeCampaignSerializer(campaign, context=context).data
    return Response(body, status=code, headers={"ETag": f'"{campaign.version}"'})


CHANGED = {200: NoticeCampaignSerializer, 409: ErrorSerializer, 412: ErrorSerializer}


class NoticeCampaignsView(APIView):
    @extend_schema(responses={200: NoticeCampaignSerializer(many=True)})
    def get(self, request: Request, reference: str) -> Response:
        campaigns = list(campaigns_of(request, reference))
        context = {"request": request, "counts": tally([c.pk for c in campaigns])}
        return Response(NoticeCampaignSerializer(campaigns, many=True, context=context).data)

    @extend_schema(request=CampaignWriteSerializer, responses={201: NoticeCampaignSerializer})
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_for(request, reference)
        ensure_may_write_notices(request.user)  # 403 before any complaint about the body
        data = CampaignWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        campaign, _event = draft_campaign(incident, actor=request.user, texts=data.validated_data)
        return answer(request, campaign, status.HTTP_201_CREATED)


class NoticeCampaignView(APIView):
    @extend_schema(responses={200: NoticeCampaignSerializer})
    def get(self, request: Request, reference: str, pk: int) -> Response:
        return answer(request, campaign_for(request, reference, pk))


class NoticeCampaignApproveView(APIView):
    @extend_schema(request=payload_serializer(CAMPAIGN), responses=CHANGED)
    def post(self, request: Request, reference: str, pk: int) -> Response:
        campaign = campaign_for(request, reference, pk)
        ensure_may_write_notices(request.user)
        payload = parse_payload(CAMPAIGN, request.data, "approve")
        campaign, _event = approve_campaign(
            campaign,
            actor=request.user,
            note=payload.get("note", ""),
            expected_version=expected_version(request),
        )
        return answer(request, campaign)


class NoticeCampaignCancelView(APIView):
    @extend_schema(request=payload_serializer(CAMPAIGN), responses=CHANGED)
    def post(self, request: Request, reference: str, pk: int) -> Response:
        campaign = campaign_for(request, reference, pk)
        ensure_may_write_notices(request.user)
        payload = parse_payload(CAMPAIGN, request.data, "cancel")
        campaign, _event = cancel_campaign(
            campaign,
            actor=request.user,
            reason=payload.get("reason", ""),
            note=payload.get("note", ""),
            expected_version=expected_version(request),
        )
        return answer(request, campaign)


class NoticeCampaignPreviewView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "lang",
                OpenApiTypes.STR,
                enum=list(LANGUAGES),
                description="The reader's language (default: the deployment's LANGUAGE_CODE).",
            )
        ],
        responses={200: PreviewSerializer},
    )
    def get(self, request: Request, reference: str, pk: int) -> Response:
        campaign = campaign_for(request, reference, pk)
        ensure_may_write_notices(request.user)
        language = request.query_params.get("lang", settings.LANGUAGE_CODE)
        ensure_language(language)
        shown = preview(campaign, language)
        if shown.person is not None:
            target = f"notice-preview:{campaign.pk}:{shown.person}"
            record_access(request, campaign.incident, AccessKind.REGISTER_READ, target)
        return Response(PreviewSerializer(shown).data)
