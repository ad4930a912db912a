"""Documents over the API (issue 19, section 2; incidents/legal/documents.py):

- ``GET  /api/incidents/{ref}/documents/``: the incident's documents, oldest first;
- ``POST /api/incidents/{ref}/documents/``: ``{kind, language, authority?, supersedes?}`` ->
  201, a draft written from the record;
- ``GET  /api/incidents/{ref}/documents/{id}/`` (``ETag``: its version) and ``PATCH`` (a draft's
  ``sections`` and, for a complaint letter, ``authority``; honours ``If-Match``);
- ``POST .../documents/{id}/issue/``: ``{fulfil?, note?}`` -> the issued document with its
  ``sha256``; honours ``If-Match``;
- ``GET  .../documents/{id}.pdf``: a draft typeset now (marked DRAFT), an issued document's
  frozen bytes (``X-Content-SHA256``).

Every role that reads the incident reads its documents; legal and admins write them. Thin
views: the rules are in the domain."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import ErrorSerializer
from incidents.api.legal_referrals import incident_for
from incidents.api.serializers import MAX_ID, StrictInputMixin
from incidents.api.views import expected_version, run_edit
from incidents.choices import Authority
from incidents.legal.document_facts import gather_facts
from incidents.legal.document_kinds import ADDRESSEE_CHOICES, SECTION_MAX_LENGTH, SECTIONS
from incidents.legal.documents import (
    changes_for,
    document_pdf,
    draft_document,
    ensure_may_write_documents,
    issue_document,
    may_write_documents,
    update_document,
)
from incidents.models import (
    DOCUMENT_RECORD,
    AccessKind,
    Document,
    DocumentKind,
    Incident,
    NoticeLanguage,
)
from incidents.need_to_know import record_access

MAX_SECTIONS = max(len(spec) for spec in SECTIONS.values())


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "maxLength": SECTION_MAX_LENGTH},
        "description": "Section key -> text; the keys of each kind are listed in docs/legal.md.",
    }
)
class SectionsField(serializers.DictField):
    """``{section key: text}``: text only (a number is refused, not turned into text); which
    keys a kind has, and their limits, is the domain's to check."""

    child = serializers.CharField(allow_blank=True, max_length=SECTION_MAX_LENGTH)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if isinstance(data, dict):
            wrong = sorted(str(k) for k, v in data.items() if not isinstance(v, str))
            if wrong:
                message = _("Not a valid string.")
                raise serializers.ValidationError({key: [message] for key in wrong})
            if len(data) > MAX_SECTIONS:
                message = _("At most %(n)s sections.") % {"n": MAX_SECTIONS}
                raise serializers.ValidationError(message)
        return super().to_internal_value(data)


class DocumentCreateSerializer(StrictInputMixin, serializers.Serializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    language = serializers.ChoiceField(choices=NoticeLanguage.choices)
    authority = serializers.ChoiceField(
        choices=ADDRESSEE_CHOICES,
        required=False,
        help_text="A complaint letter's addressee (default: the authority of the latest "
        "referral to the police or the prosecutor, else the cyber police).",
    )
    supersedes = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="An issued supplement this one corrects (other kinds supersede the edition "
        "in force by themselves).",
    )


class DocumentPatchSerializer(StrictInputMixin, serializers.Serializer):
    read_only_names = (
        "id",
        "incident",
        "kind",
        "language",
        "edition",
        "state",
        "sha256",
        "size",
        "drafted_by",
        "drafted_at",
        "issued_by",
        "issued_at",
        "supersedes",
        "superseded_by",
        "obligation",
        "changes",
        "version",
    )

    sections = SectionsField(required=False)
    authority = serializers.ChoiceField(choices=ADDRESSEE_CHOICES, required=False)


class DocumentIssueSerializer(StrictInputMixin, serializers.Serializer):
    fulfil = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also fulfil the open legal deadline this document answers (GDPR-33's "
        "notification of the authority; KALAK's referral filed), citing it as proof.",
    )
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="Added to the fulfilment."
    )


# A supplement's change: ``{"key": "incident.affected_subjects_estimate", "from": 120, "to":
# 500}`` ("from" is a Python keyword, so the schema is written out).
CHANGES_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"key": {"type": "string"}, "from": {}, "to": {}},
        "required": ["key", "from", "to"],
    },
}


class DocumentSerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    drafted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    issued_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    sections = serializers.DictField(child=serializers.CharField(), read_only=True)
    # A complaint letter's addressee; "" for the other kinds (the schema says so too).
    authority = serializers.ChoiceField(choices=Authority.choices, allow_blank=True, read_only=True)
    superseded_by = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()
    may_edit = serializers.SerializerMethodField()

    class Meta:
        model = Document
        fields = (
            "incident",
            *DOCUMENT_RECORD,
            "sections",
            "drafted_by",
            "issued_by",
            "supersedes",
            "superseded_by",
            "obligation",
            "version",
            "pdf_url",
            "may_edit",
        )
        read_only_fields = fields

    def get_superseded_by(self, document: Document) -> int | None:
        return self.context.get("superseded", {}).get(document.pk)

    def get_pdf_url(self, document: Document) -> str:
        return f"/api/incidents/{document.incident.reference}/documents/{document.pk}.pdf"

    def get_may_edit(self, document: Document) -> bool:
        return document.state == Document.DRAFT and may_write_documents(
            self.context["request"].user
        )


class DocumentDetailSerializer(DocumentSerializer):
    changes = serializers.SerializerMethodField(
        help_text="A supplement's changes since the last GDPR-33 document issued: frozen once "
        "issued, computed from the record while a draft."
    )

    class Meta(DocumentSerializer.Meta):
        fields = (*DocumentSerializer.Meta.fields, "changes")
        read_only_fields = fields

    @extend_schema_field(CHANGES_SCHEMA)
    def get_changes(self, document: Document) -> list[dict[str, Any]]:
        if document.issued_at is not None:
            return document.changes
        if document.kind != DocumentKind.GDPR33_SUPPLEMENT:
            return []
        return changes_for(document, gather_facts(document.incident))[0]


def _documents(request: Request, reference: str) -> Any:
    visible = Incident.objects.visible_to(request.user)
    rows = Document.objects.filter(incident__in=visible, incident__reference=reference)
    return rows.select_related("incident", "drafted_by", "issued_by", "supersedes")


def document_for(request: Request, reference: str, pk: int, *, with_pdf: bool = False) -> Any:
    rows = _documents(request, reference)
    return get_object_or_404(rows if with_pdf else rows.without_pdf(), pk=pk)


def _superseded(documents: list[Document]) -> dict[int, int]:
    return {d.supersedes_id: d.pk for d in documents if d.supersedes_id is not None}


def answer(request: Request, document: Document, code: int = status.HTTP_200_OK) -> Response:
    successor = Document.objects.filter(supersedes=document).values_list("pk", flat=True).first()
    context = {"request": request, "superseded": {document.pk: successor} if successor else {}}
    body = DocumentDetailSerializer(document, context=context).data
    return Response(body, status=code, headers={"ETag": f'"{document.version}"'})


class IncidentDocumentsView(APIView):
    @extend_schema(responses={200: DocumentSerializer(many=True)})
    def get(self, request: Request, reference: str) -> Response:
        incident_for(request, reference)  # 404 for a reference the caller may not read
        documents = list(_documents(request, reference).without_pdf())
        context = {"request": request, "superseded": _superseded(documents)}
        return Response(DocumentSerializer(documents, many=True, context=context).data)

    @extend_schema(
        request=DocumentCreateSerializer,
        responses={201: DocumentDetailSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_for(request, reference)
        ensure_may_write_documents(request.user)  # 403 before any complaint about the body
        given = DocumentCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        document, _event = draft_document(
            incident.reference, actor=request.user, **given.validated_data
        )
        return answer(request, document_for(request, reference, document.pk), 201)


class DocumentView(APIView):
    @extend_schema(responses={200: DocumentDetailSerializer})
    def get(self, request: Request, reference: str, pk: int) -> Response:
        return answer(request, document_for(request, reference, pk))

    @extend_schema(
        request=DocumentPatchSerializer,
        responses={200: DocumentDetailSerializer, 409: ErrorSerializer},
    )
    def patch(self, request: Request, reference: str, pk: int) -> Response:
        document = document_for(request, reference, pk)
        ensure_may_write_documents(request.user)
        run_edit(request, document, DocumentPatchSerializer, update_document)
        return answer(request, document_for(request, reference, pk))


class DocumentIssueView(APIView):
    @extend_schema(
        request=DocumentIssueSerializer,
        responses={200: DocumentDetailSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request, reference: str, pk: int) -> Response:
        document = document_for(request, reference, pk)
        ensure_may_write_documents(request.user)
        given = DocumentIssueSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        issue_document(
            document,
            actor=request.user,
            expected_version=expected_version(request),
            fulfil=given.validated_data["fulfil"],
            note=given.validated_data.get("note", ""),
        )
        return answer(request, document_for(request, reference, pk))


class DocumentPdfView(APIView):
    @extend_schema(
        operation_id="incidents_documents_pdf_retrieve",
        responses={
            (200, "application/pdf"): OpenApiResponse(bytes),
            409: OpenApiResponse(
                ErrorSerializer, description="The stored bytes no longer match their SHA-256."
            ),
        },
    )
    def get(self, request: Request, reference: str, pk: int) -> HttpResponse:
        document = document_for(request, reference, pk, with_pdf=True)
        pdf = document_pdf(document)
        record_access(request, document.incident, AccessKind.DOCUMENT_EXPORTED, f"document:{pk}")
        response = HttpResponse(pdf, content_type="application/pdf")
        name = f"{reference}-{document.kind}-{document.language}-{document.edition}"
        if document.issued_at is None:
            name += "-DRAFT"
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        if document.sha256:
            response["X-Content-SHA256"] = document.sha256
        return response
