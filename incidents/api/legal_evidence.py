"""Evidence endpoints: multipart upload (hashed while streaming, 413 above the limit), list,
metadata with custody, verified download. Only the upload view parses multipart."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api.legal_referrals import incident_for
from incidents.api.legal_serializers import EvidenceSerializer, EvidenceUploadSerializer
from incidents.legal.evidence import HashingUploadHandler, open_for_download, store_evidence
from incidents.models import AccessKind, Evidence, Incident
from incidents.need_to_know import record_access


def _evidence_for(request: Request, pk: int) -> Evidence:
    visible = Evidence.objects.filter(incident__in=Incident.objects.visible_to(request.user))
    return get_object_or_404(visible.select_related("incident", "uploaded_by"), pk=pk)


class IncidentEvidenceView(APIView):
    parser_classes = [MultiPartParser]

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # Before anything (CSRF's read of request.POST included) touches the body, so every
        # byte of the file passes the counting, hashing handler.
        if request.method == "POST":
            request.upload_handlers = [HashingUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(responses={200: EvidenceSerializer(many=True)})
    def get(self, request: Request, reference: str) -> Response:
        items = incident_for(request, reference).evidence.select_related("uploaded_by")
        return Response(EvidenceSerializer(items.prefetch_related("custody"), many=True).data)

    @extend_schema(
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={201: EvidenceSerializer},
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_for(request, reference)
        # A form may repeat a part; only the last would be kept, the others silently dropped.
        repeated = sorted(key for key in request.data if len(request.data.getlist(key)) > 1)
        if repeated:
            raise ValidationError(
                {key: [_("Give this part once (one file per upload).")] for key in repeated}
            )
        data = EvidenceUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        evidence, _event = store_evidence(
            incident,
            actor=request.user,
            upload=data.validated_data["file"],
            description=data.validated_data.get("description", ""),
            note=data.validated_data.get("note", ""),
        )
        return Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)


class EvidenceView(APIView):
    @extend_schema(responses={200: EvidenceSerializer})
    def get(self, request: Request, pk: int) -> Response:
        return Response(EvidenceSerializer(_evidence_for(request, pk)).data)


class EvidenceDownloadView(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    def get(self, request: Request, pk: int) -> FileResponse:
        evidence = _evidence_for(request, pk)
        handle = open_for_download(
            evidence, actor=request.user, note=request.query_params.get("note", "")[:2000]
        )
        # Once the download is granted and verified: a refusal hands over nothing to log.
        record_access(
            request, evidence.incident, AccessKind.EVIDENCE_DOWNLOADED, f"evidence:{evidence.pk}"
        )
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=evidence.original_name,
            content_type="application/octet-stream",
        )
        response["X-Content-SHA256"] = evidence.sha256
        return response
