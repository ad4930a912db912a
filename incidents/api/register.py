"""The affected-people register over the API (issue 18 part 2; incidents/affected/):

- ``GET  /api/incidents/{ref}/affected-people/``: the people, decrypted, a keyset page at a time;
  every page read is an access record (who, when, from where, which rows);
- ``POST /api/incidents/{ref}/affected-people/``: add one person (JSON);
- ``DELETE /api/incidents/{ref}/affected-people/{id}/``: take out a person added by mistake;
- ``POST /api/incidents/{ref}/affected-people/import/``: a CSV file (multipart ``file``),
  ``?dry_run=1`` to check it only.

Legal and admins only (403 for other roles, after the 404 every reference gives whoever may not
see its incident). Thin views: the rules are in the domain."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import IdKeysetPagination
from core.api.parsers import JSONParser
from core.api.schema import ErrorSerializer
from core.errors import DomainError
from incidents.affected.contacts import CUSTOMER_ID_MAX, EMAIL_MAX, MOBILE_RAW_MAX, NAME_MAX
from incidents.affected.importing import import_people
from incidents.affected.register import (
    add_person,
    ensure_may_keep_register,
    open_people,
    people_of,
    remove_person,
)
from incidents.api.legal_referrals import incident_for
from incidents.api.serializers import StrictInputMixin
from incidents.legal.evidence import MULTIPART_OVERHEAD
from incidents.models import AccessKind, NoticeLanguage
from incidents.need_to_know import record_access

UNREADABLE = OpenApiResponse(
    ErrorSerializer,
    description="The database is unavailable (try again after Retry-After), or no configured "
    "PII_ENCRYPTION_KEY opens the register's rows (an admin must fix the key).",
)


class AffectedPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    customer_id = serializers.CharField(source="contact.customer_id", read_only=True)
    name = serializers.CharField(
        source="contact.name", read_only=True, help_text="Empty when not given."
    )
    email = serializers.CharField(source="contact.email", read_only=True, allow_null=True)
    mobile = serializers.CharField(
        source="contact.mobile", read_only=True, allow_null=True, help_text="+989xxxxxxxxx"
    )
    language = serializers.ChoiceField(choices=NoticeLanguage.choices, read_only=True)
    added_by = serializers.CharField(source="added_by.username", read_only=True)
    added_at = serializers.DateTimeField(read_only=True)
    notified_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the first notice reached them, if any."
    )


class AffectedPersonInputSerializer(StrictInputMixin, serializers.Serializer):
    """Strings as a person gives them; the domain checks and normalises them
    (incidents/affected/contacts.py). An email, a mobile, or both."""

    customer_id = serializers.CharField(max_length=CUSTOMER_ID_MAX)
    name = serializers.CharField(max_length=NAME_MAX, required=False, allow_blank=True)
    email = serializers.CharField(
        max_length=EMAIL_MAX, required=False, allow_blank=True, allow_null=True
    )
    mobile = serializers.CharField(
        max_length=MOBILE_RAW_MAX,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="An Iranian mobile in any usual form: 0912..., +98 912..., Persian digits.",
    )
    language = serializers.CharField(
        max_length=2, required=False, allow_blank=True, help_text="fa or en; default fa."
    )


class AffectedPeopleImportQuerySerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Check the file and count; import nothing."
    )


class AffectedPeopleUploadSerializer(StrictInputMixin, serializers.Serializer):
    file = serializers.FileField(
        max_length=10000,
        help_text="CSV, UTF-8 (with or without BOM); header from customer_id, name, email, "
        "mobile, language.",
    )


class RegisterLineErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    field = serializers.CharField(allow_null=True, help_text="The column, if one is to blame.")
    detail = serializers.CharField()


class AffectedPeopleImportSerializer(serializers.Serializer):
    imported = serializers.IntegerField(help_text="People added (with dry_run: would be).")
    skipped = serializers.IntegerField(
        help_text="Customer ids already in the register, or repeated within the file."
    )
    errors = RegisterLineErrorSerializer(many=True)
    error_count = serializers.IntegerField(help_text="All errors; `errors` lists the first 200.")
    dry_run = serializers.BooleanField()


class AffectedPeopleImportRefusedSerializer(serializers.Serializer):
    """A refused import: wrong lines (the result's keys, nothing imported), or a request that
    never reached the file (no ``file`` part, a bad ``dry_run``: those keys, with messages)."""

    detail = serializers.CharField()
    imported = serializers.IntegerField(required=False)
    skipped = serializers.IntegerField(required=False)
    errors = RegisterLineErrorSerializer(many=True, required=False)
    error_count = serializers.IntegerField(required=False)


class AffectedPeopleImportTooLargeSerializer(serializers.Serializer):
    detail = serializers.CharField()
    max_bytes = serializers.IntegerField()


class ImportTooLarge(DomainError):
    status = 413

    def __init__(self, limit: int) -> None:
        message = _(
            "An import file may be at most %(limit)s bytes (AFFECTED_PEOPLE_IMPORT_MAX_BYTES)."
        )
        super().__init__(message % {"limit": limit}, max_bytes=limit)


class ImportUploadHandler(TemporaryFileUploadHandler):
    """Stops an import upload at AFFECTED_PEOPLE_IMPORT_MAX_BYTES (413): announced larger, at
    once; streamed larger, as soon as it passes. Install per request on the import view."""

    def handle_raw_input(self, input_data: Any, META: Any, content_length: int, *args: Any) -> None:
        limit = settings.AFFECTED_PEOPLE_IMPORT_MAX_BYTES
        if content_length and content_length > limit + MULTIPART_OVERHEAD:
            raise ImportTooLarge(limit)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received > settings.AFFECTED_PEOPLE_IMPORT_MAX_BYTES:
            self.file.close()
            raise ImportTooLarge(settings.AFFECTED_PEOPLE_IMPORT_MAX_BYTES)
        return super().receive_data_chunk(raw_data, start)


class RegisterPages(IdKeysetPagination):
    """In the order people were added: a page costs the same however large the register
    (100,000 people and more)."""

    ordering = "id"
    page_size = 100


class AffectedPeopleView(ListAPIView):
    serializer_class = AffectedPersonSerializer
    pagination_class = RegisterPages
    parser_classes = [JSONParser]
    filter_backends: list[type] = []

    def get_queryset(self) -> Any:
        return people_of(self.incident)

    @extend_schema(responses={200: AffectedPersonSerializer(many=True), 503: UNREADABLE})
    def get(self, request: Request, reference: str) -> Response:
        self.incident = incident_for(request, reference)
        ensure_may_keep_register(request.user)
        page = open_people(self.paginate_queryset(self.get_queryset()))
        # Written once the rows are open, so a record stands for data really shown.
        ids = f"{page[0].pk}-{page[-1].pk}" if page else "none"
        record_access(request, self.incident, AccessKind.REGISTER_READ, f"register:{ids}")
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=AffectedPersonInputSerializer,
        responses={201: AffectedPersonSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_for(request, reference)
        ensure_may_keep_register(request.user)  # 403 before any complaint about the body
        data = AffectedPersonInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        person = add_person(incident, data.validated_data, actor=request.user)
        body = AffectedPersonSerializer(person).data
        return Response(body, status=status.HTTP_201_CREATED)


class AffectedPersonView(APIView):
    @extend_schema(responses={204: None, 409: ErrorSerializer})
    def delete(self, request: Request, reference: str, pk: int) -> Response:
        incident = incident_for(request, reference)
        remove_person(incident, pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AffectedPeopleImportView(APIView):
    parser_classes = [MultiPartParser]

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # Before anything (CSRF's read of request.POST included) touches the body.
        if request.method == "POST":
            request.upload_handlers = [ImportUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        parameters=[AffectedPeopleImportQuerySerializer],
        request={"multipart/form-data": AffectedPeopleUploadSerializer},
        responses={
            200: AffectedPeopleImportSerializer,
            400: OpenApiResponse(
                AffectedPeopleImportRefusedSerializer,
                description="Wrong lines (each with its line, field and detail; nothing "
                "imported), or a missing file or a bad dry_run.",
            ),
            409: ErrorSerializer,
            413: AffectedPeopleImportTooLargeSerializer,
        },
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_for(request, reference)
        ensure_may_keep_register(request.user)  # 403 before the body is read
        query = AffectedPeopleImportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        repeated = sorted(key for key in request.data if len(request.data.getlist(key)) > 1)
        if repeated:
            raise ValidationError(
                {key: [_("Give this part once (one file per import).")] for key in repeated}
            )
        data = AffectedPeopleUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = import_people(
            incident,
            data.validated_data["file"],
            actor=request.user,
            dry_run=query.validated_data["dry_run"],
        )
        return Response(AffectedPeopleImportSerializer(result.as_dict()).data)
