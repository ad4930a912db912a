"""Status updates over the API (issue 20, section 2; incidents/workspace/updates.py):

- ``GET  /api/incidents/{ref}/updates/``: the incident's updates, newest first, a keyset page
  at a time (every role that reads the incident);
- ``POST /api/incidents/{ref}/updates/``: ``{body, next_update_at?}`` (engineers, legal,
  admins; 409 on a closed or dismissed incident).

The incident's detail carries the newest one as ``latest_update`` and the due time as
``next_update_at``. Thin views: the rules are in the domain."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.pagination import IdKeysetPagination
from core.api.parsers import JSONParser
from core.api.schema import ErrorSerializer
from incidents.api.legal_referrals import incident_for
from incidents.api.serializers import MomentField, StrictInputMixin
from incidents.api.update_serializers import StatusUpdateSerializer
from incidents.workspace.updates import (
    BODY_MAX_LENGTH,
    ensure_may_post_updates,
    post_update,
    updates_of,
)


class StatusUpdateWriteSerializer(StrictInputMixin, serializers.Serializer):
    body = serializers.CharField(max_length=BODY_MAX_LENGTH, trim_whitespace=True)
    next_update_at = MomentField(
        required=False,
        allow_null=True,
        help_text="Default: now plus the severity's cadence. In the future, within 30 days.",
    )


class NewestFirst(IdKeysetPagination):
    """Newest first; a page costs the same however many updates a long incident collects."""

    ordering = "-id"
    page_size = 20


class IncidentStatusUpdatesView(ListAPIView):
    serializer_class = StatusUpdateSerializer
    pagination_class = NewestFirst
    parser_classes = [JSONParser]
    filter_backends: list[type] = []

    def get_queryset(self) -> Any:
        return updates_of(self.incident)

    @extend_schema(responses={200: StatusUpdateSerializer(many=True)})
    def get(self, request: Request, reference: str) -> Response:
        self.incident = incident_for(request, reference)
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=StatusUpdateWriteSerializer,
        responses={201: StatusUpdateSerializer, 409: ErrorSerializer},
    )
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_for(request, reference)
        ensure_may_post_updates(request.user)  # 403 before any complaint about the body
        data = StatusUpdateWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        update, _event = post_update(incident, actor=request.user, **data.validated_data)
        return Response(StatusUpdateSerializer(update).data, status=status.HTTP_201_CREATED)
