"""The record's verification (dashboard: legal and admins) and the incident dossier."""

from __future__ import annotations

from django.http import FileResponse, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api.legal_referrals import incident_for
from incidents.api.legal_serializers import VerificationRunSerializer
from incidents.legal.dossier import build_zip, gather, render_pdf
from incidents.legal.evidence import may_download
from incidents.legal.record import ensure_may_verify, verify_record
from incidents.models import AccessKind, VerificationRun
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


class DossierPdfView(APIView):
    @extend_schema(responses={(200, "application/pdf"): bytes})
    def get(self, request: Request, reference: str) -> HttpResponse:
        incident = incident_for(request, reference)
        record_access(request, incident, AccessKind.DOSSIER_EXPORTED, "dossier.pdf")
        response = HttpResponse(render_pdf(gather(incident)), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{incident.reference}-dossier.pdf"'
        return response


class DossierZipView(APIView):
    @extend_schema(responses={(200, "application/zip"): bytes})
    def get(self, request: Request, reference: str) -> FileResponse:
        incident = incident_for(request, reference)
        if not may_download(request.user):
            raise PermissionDenied(
                _("Your role may not download evidence, so not the dossier ZIP.")
            )
        record_access(request, incident, AccessKind.DOSSIER_EXPORTED, "dossier.zip")
        return FileResponse(
            build_zip(incident, actor=request.user),
            as_attachment=True,
            filename=f"{incident.reference}-dossier.zip",
            content_type="application/zip",
        )
