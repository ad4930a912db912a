"""The record's verification (dashboard: legal and admins) and the incident dossier."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.models import Profile
from incidents.api.legal_referrals import incident_for
from incidents.api.legal_serializers import VerificationRunSerializer
from incidents.legal import typeset
from incidents.legal.dossier import build_zip, export_pdf
from incidents.legal.evidence import may_download
from incidents.legal.record import ensure_may_verify, verify_record
from incidents.models import AccessKind, Incident, Referral, VerificationRun
from incidents.need_to_know import record_access


class VerificationAnswerSerializer(serializers.Serializer):
    """The answer is wrapped, so "never verified" is ``{"latest": null}`` (issue 17 item 5)."""

    latest = VerificationRunSerializer(allow_null=True)


class VerificationView(APIView):
    """GET: the last verification (or null). POST: verify the whole chain now."""

    @extend_schema(responses={200: VerificationAnswerSerializer})
    def get(self, request: Request) -> Response:
        ensure_may_verify(request.user)
        run = VerificationRun.objects.latest_run()
        return Response({"latest": VerificationRunSerializer(run).data if run else None})

    @extend_schema(request=None, responses={200: VerificationAnswerSerializer})
    def post(self, request: Request) -> Response:
        ensure_may_verify(request.user)
        run = verify_record(source="api")
        return Response({"latest": VerificationRunSerializer(run).data})


class DossierQuerySerializer(serializers.Serializer):
    """``?lang=fa|en`` (default: the reader's language) and ``?referral=<id>``: addressed to
    that referral's authority (a referral of the same incident)."""

    lang = serializers.ChoiceField(choices=typeset.LANGUAGES, required=False)
    referral = serializers.IntegerField(required=False, min_value=1)


def dossier_options(request: Request, incident: Incident) -> tuple[str, Referral | None]:
    """The document's language and addressee from the query (400 on a bad one)."""
    query = DossierQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    referral = None
    if "referral" in query.validated_data:
        referral = incident.referrals.filter(pk=query.validated_data["referral"]).first()
        if referral is None:
            raise ValidationError({"referral": [_("Not a referral of this incident.")]})
    return query.validated_data.get("lang") or reader_language(request), referral


def reader_language(request: Request) -> str:
    """The reader's saved language, else the request's (cookie, Accept-Language, default)."""
    saved = Profile.objects.filter(user=request.user).values_list("language", flat=True).first()
    language = saved or translation.get_language() or settings.LANGUAGE_CODE
    return language if language in typeset.LANGUAGES else settings.LANGUAGE_CODE


DOSSIER_PARAMETERS = [
    OpenApiParameter("lang", str, enum=list(typeset.LANGUAGES), description="document language"),
    OpenApiParameter("referral", int, description="addressed to this referral's authority"),
]


class DossierPdfView(APIView):
    @extend_schema(parameters=DOSSIER_PARAMETERS, responses={(200, "application/pdf"): bytes})
    def get(self, request: Request, reference: str) -> HttpResponse:
        incident = incident_for(request, reference)
        language, referral = dossier_options(request, incident)
        record_access(request, incident, AccessKind.DOSSIER_EXPORTED, "dossier.pdf")
        pdf = export_pdf(incident, language=language, referral=referral)
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{incident.reference}-dossier.pdf"'
        response["Content-Language"] = language
        return response


class DossierZipView(APIView):
    @extend_schema(parameters=DOSSIER_PARAMETERS, responses={(200, "application/zip"): bytes})
    def get(self, request: Request, reference: str) -> FileResponse:
        incident = incident_for(request, reference)
        if not may_download(request.user):
            raise PermissionDenied(
                _("Your role may not download evidence, so not the dossier ZIP.")
            )
        language, referral = dossier_options(request, incident)
        record_access(request, incident, AccessKind.DOSSIER_EXPORTED, "dossier.zip")
        return FileResponse(
            build_zip(incident, actor=request.user, language=language, referral=referral),
            as_attachment=True,
            filename=f"{incident.reference}-dossier.zip",
            content_type="application/zip",
        )
