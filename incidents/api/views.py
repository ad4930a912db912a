"""Thin views: parse, call one domain function, answer (STYLE.md rule 7)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.pagination import MAX_ID, AfterKeysetPagination, CappedPagination, Pagination
from incidents.acknowledgements import acknowledge, ensure_may_acknowledge
from incidents.api.access import ACCESS_KEYS, IncidentPatchSerializer, RestrictionSerializer
from incidents.api.payloads import parse_payload, payload_serializer
from incidents.api.serializers import (
    IncidentSerializer,
    IncidentWriteSerializer,
    NoteSerializer,
)
from incidents.errors import IncidentNotFound
from incidents.filters import IncidentFilter
from incidents.guards import load_facts
from incidents.lifecycle import (
    INCIDENT,
    TRANSITIONS,
    create_incident,
    ensure_may_edit,
    ensure_may_log,
    update_incident,
)
from incidents.machines import Machine
from incidents.models import Event, Incident
from incidents.need_to_know import change_restriction, ensure_may_restrict, record_opened
from incidents.notes import add_note, ensure_may_add_notes
from incidents.stream.frames import EventSerializer, IncidentSummarySerializer
from incidents.workspace.updates import latest_update_prefetch


def expected_version(request: Request) -> int | None:
    """The version named by ``If-Match: "<version>"`` (weak tags accepted), or None."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    tag = raw.strip().removeprefix("W/").strip().strip('"')
    # isdigit() alone admits "²" and other digits int() refuses; 18 digits outgrow any version.
    if not (tag.isascii() and tag.isdigit() and len(tag) <= 18):
        raise ParseError(_('If-Match must be an incident version in quotes, like "3".'))
    return int(tag)


def run_transition(request: Request, machine: Machine, target: Any, name: str) -> Any:
    """What every transition endpoint does (incident, referral, obligation): an unknown name is
    a 404, a role that may never run it a 403 before any complaint about the body, the payload
    is parsed by the machine's spec, and the runner runs with the caller's If-Match. ``target``
    is what the runner takes (the incident endpoint passes the reference, so the incident is
    locked and loaded once, inside the transaction). Returns the changed record."""
    machine.step(name)
    machine.ensure_may_run(request.user, name)
    record, _event = machine.run(
        target,
        name,
        actor=request.user,
        payload=parse_payload(machine, request.data, name),
        expected_version=expected_version(request),
    )
    return record


def run_edit(
    request: Request,
    record: Any,
    write: type[serializers.Serializer],
    update: Callable,
    body: Any = None,
) -> Any:
    """What every edit endpoint does (incident, referral): parse the partial body (``body``,
    or the request's) with the write serializer, run the domain's ``update`` with the caller's
    If-Match; the changed record."""
    data = write(record, data=request.data if body is None else body, partial=True)
    data.is_valid(raise_exception=True)
    changed, _event = update(
        record,
        actor=request.user,
        changes=data.validated_data,
        expected_version=expected_version(request),
    )
    return changed


class IncidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    lookup_field = "reference"
    lookup_value_regex = r"INC-\d{4}-\d{4,}"
    serializer_class = IncidentSerializer
    pagination_class = CappedPagination
    # The one filter of incident lists (the pages' list uses it too): state, severity, search,
    # ordering; the default order is the model's, newest reference first.
    filter_backends = [DjangoFilterBackend]
    filterset_class = IncidentFilter

    def get_queryset(self) -> Any:
        visible = Incident.objects.visible_to(self.request.user).with_people()
        # The newest status update of every incident of a page in one query (``latest_update``).
        return visible.prefetch_related("members", latest_update_prefetch())

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        load_facts(page)  # the guards' reads of other tables, for the whole page at once
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def filter_queryset(self, queryset: Any) -> Any:
        # Filters, search and ordering describe lists; on a detail route they only cost time
        # (django-filter builds a form per request).
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def _visible_reference(self, reference: str) -> str:
        """The reference, if the caller may see that incident (``visible_to``: one indexed
        EXISTS); an incident hidden from the caller is as unknown as a missing one. The
        runner then locks it by reference, so the row is loaded once, inside the lock."""
        if not Incident.objects.visible_to(self.request.user).filter(reference=reference).exists():
            raise IncidentNotFound()
        return reference

    def _answer(self, incident: Incident, code: int = status.HTTP_200_OK) -> Response:
        body = IncidentSerializer(incident, context=self.get_serializer_context()).data
        return Response(body, status=code, headers={"ETag": f'"{incident.version}"'})

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incident = self.get_object()
        record_opened(request, incident, "api")
        return self._answer(incident)

    @extend_schema(request=IncidentWriteSerializer, responses={201: IncidentSerializer})
    def create(self, request: Request) -> Response:
        ensure_may_log(request.user)  # 403 before any complaint about the body
        data = IncidentWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident, _event = create_incident(actor=request.user, data=data.validated_data)
        return self._answer(incident, status.HTTP_201_CREATED)

    @extend_schema(request=IncidentPatchSerializer, responses={200: IncidentSerializer})
    def partial_update(self, request: Request, reference: str) -> Response:
        ensure_may_edit(request.user)  # 403 before 404 or 400
        incident = self.get_object()
        body = request.data if isinstance(request.data, dict) else {}
        access = {k: body[k] for k in ACCESS_KEYS if k in body}
        fields = {k: v for k, v in body.items() if k not in ACCESS_KEYS}
        if not access:
            incident = run_edit(request, incident, IncidentWriteSerializer, update_incident)
            return self._answer(incident)
        ensure_may_restrict(request.user, incident)  # 403 before 400
        wanted = RestrictionSerializer(data=access)
        wanted.is_valid(raise_exception=True)
        # Both halves of one PATCH stand or fall together; the If-Match is the edit's, or the
        # restriction's when the body changes only who reads the incident.
        with transaction.atomic():
            version = expected_version(request)
            if fields:
                incident = run_edit(
                    request, incident, IncidentWriteSerializer, update_incident, fields
                )
                version = None
            incident, _events = change_restriction(
                incident, actor=request.user, expected_version=version, **wanted.validated_data
            )
        return self._answer(incident)

    @extend_schema(
        request=payload_serializer(INCIDENT),
        responses={200: IncidentSerializer},
        parameters=[
            OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=TRANSITIONS)
        ],
    )
    @action(detail=True, methods=["post"], url_path=r"transitions/(?P<name>[^/.]+)")
    def transition(self, request: Request, reference: str, name: str) -> Response:
        incident = run_transition(request, INCIDENT, self._visible_reference(reference), name)
        return self._answer(incident)

    @extend_schema(request=None, responses={201: EventSerializer, 200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], filter_backends=[])
    def acknowledge(self, request: Request, reference: str) -> Response:
        """The caller is on it: stops escalation, as the Telegram button does. A repeat by the
        same person records nothing (200)."""
        ensure_may_acknowledge(request.user)  # 403 before 404
        _incident, event = acknowledge(self.get_object(), request.user)
        if event is None:
            return Response({"detail": _("You have already acknowledged this incident.")})
        return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=NoteSerializer, responses={201: EventSerializer})
    @action(detail=True, methods=["post"], filter_backends=[])
    def notes(self, request: Request, reference: str) -> Response:
        ensure_may_add_notes(request.user)  # 403 before 404 or 400
        incident = self.get_object()
        data = NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _incident, event = add_note(incident, actor=request.user, text=data.validated_data["text"])
        return Response(EventSerializer(event).data, status=status.HTTP_201_CREATED)

    # Counted exactly, unlike the list: one incident's events are counted on their own index
    # (incident, seq), a cost that follows the incident, not the log.
    @extend_schema(responses={200: EventSerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=Pagination)
    def timeline(self, request: Request, reference: str) -> Response:
        incident = self.get_object()
        events = incident.events.order_by("seq")
        page = self.paginate_queryset(events)
        return self.get_paginated_response(EventSerializer(page, many=True).data)


class FeedEventSerializer(EventSerializer):
    """An event of the feed: the event and its incident's summary (its own schema name, so
    the feed's keyset page and the timeline's numbered page stay two schemas)."""

    incident_summary = IncidentSummarySerializer(source="incident", read_only=True)

    class Meta(EventSerializer.Meta):
        fields = (*EventSerializer.Meta.fields, "incident_summary")
        read_only_fields = fields


class EventFeedView(ListAPIView):
    """The resync feed: every event after ``seq``, oldest first, each with its incident; pages
    by keyset (``next`` carries the page's last seq), never counted."""

    filter_backends: list = []
    serializer_class = FeedEventSerializer
    pagination_class = AfterKeysetPagination

    @extend_schema(
        parameters=[
            OpenApiParameter("after", OpenApiTypes.INT, description="last seq the client has"),
            OpenApiParameter("incident", OpenApiTypes.STR, description="one incident's reference"),
            OpenApiParameter("page_size", OpenApiTypes.INT, description="events a page (≤ 500)"),
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        raw = self.request.query_params.get("after", "0")
        try:
            after = int(raw)
        except ValueError:
            raise ParseError(_("'after' must be an integer sequence number.")) from None
        if after > MAX_ID:  # past any seq column: a database error, not an empty page
            raise ParseError(_("'after' must be an integer sequence number."))
        events = Event.objects.visible_to(self.request.user).after(max(after, 0))
        reference = self.request.query_params.get("incident")
        if reference:
            events = events.filter(incident__reference=reference)
        return events.select_related("incident", "incident__commander")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(FeedEventSerializer(page, many=True).data)
