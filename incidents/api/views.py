"""Thin views: parse, call one domain function, answer (STYLE.md rule 7)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import django_filters
from django.db.models import Model
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import ParseError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from core.parsers import JSONParser
from core.roles import roles_of
from incidents.acknowledgements import acknowledge, ensure_may_acknowledge
from incidents.api.serializers import (
    EventSerializer,
    IncidentSerializer,
    IncidentSummarySerializer,
    IncidentWriteSerializer,
    NoteSerializer,
    TransitionPayloadSerializer,
)
from incidents.choices import Severity, State
from incidents.errors import IncidentNotFound, UnknownTransition
from incidents.lifecycle import (
    TRANSITIONS,
    apply_transition,
    create_incident,
    ensure_may_edit,
    ensure_may_log,
    update_incident,
)
from incidents.models import Event, Incident, roles_see_incidents
from incidents.notes import add_note, ensure_may_add_notes
from incidents.record_transitions import ensure_may_run


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


def run_transition(
    request: Request,
    record: Any,
    name: str,
    *,
    names: tuple[str, ...],
    model: type[Model],
    payload_class: type[serializers.Serializer],
    apply: Callable[..., tuple[Any, Any]],
) -> Any:
    """What every transition endpoint does (incident, referral, obligation): an unknown name is
    a 404, the payload is parsed by the transition's rules, and the domain function runs with
    the caller's If-Match. ``record`` is whatever ``apply`` takes (the incident endpoint passes
    the reference, so the incident is locked and loaded once, inside the transaction). Returns
    the changed record."""
    if name not in names:
        raise UnknownTransition(name)
    ensure_may_run(model, request.user, name)  # 403 before any complaint about the body
    record, _event = apply(
        record,
        name,
        actor=request.user,
        payload=_parsed_payload(request.data, payload_class, name),
        expected_version=expected_version(request),
    )
    return record


def _parsed_payload(
    data: Any, payload_class: type[serializers.Serializer], name: str
) -> dict[str, Any]:
    if data == {} and _empty_payload_is_valid(payload_class, name):
        return {}  # most transitions carry no body: skip building a serializer for it
    # Anything but an object ([], false, null) is refused by the serializer, not taken as empty.
    payload = payload_class(data=data, context={"transition": name})
    payload.is_valid(raise_exception=True)
    return payload.validated_data


@cache
def _empty_payload_is_valid(payload_class: type[serializers.Serializer], name: str) -> bool:
    """Whether an empty body passes this transition's payload rules and parses to nothing.
    The answer depends on the class and the name only, so it is worked out once."""
    payload = payload_class(data={}, context={"transition": name})
    return payload.is_valid() and not payload.validated_data


class IncidentFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=State.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices)

    class Meta:
        model = Incident
        fields = ["state", "severity"]


class IncidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    lookup_field = "reference"
    lookup_value_regex = r"INC-\d{4}-\d{4,}"
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilter
    search_fields = ["title", "reference"]
    ordering_fields = [
        "detected_at",
        "aware_at",
        "updated_at",
        "created_at",
        "severity",
        "state",
        "reference",
        "ref_number",
    ]
    ordering = ["-ref_year", "-ref_number"]

    def get_queryset(self) -> Any:
        return Incident.objects.visible_to(self.request.user).with_people()

    def filter_queryset(self, queryset: Any) -> Any:
        # Filters, search and ordering describe lists; on a detail route they only cost time
        # (django-filter builds a form per request).
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def _visible_reference(self, reference: str) -> str:
        """The reference, if the caller may see incidents at all (the rule behind
        ``visible_to``); an incident hidden from the caller is as unknown as a missing one."""
        if not roles_see_incidents(roles_of(self.request.user)):
            raise IncidentNotFound()
        return reference

    def _answer(self, incident: Incident, code: int = status.HTTP_200_OK) -> Response:
        body = IncidentSerializer(incident, context=self.get_serializer_context()).data
        return Response(body, status=code, headers={"ETag": f'"{incident.version}"'})

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(self.get_object())

    @extend_schema(request=IncidentWriteSerializer, responses={201: IncidentSerializer})
    def create(self, request: Request) -> Response:
        ensure_may_log(request.user)  # 403 before any complaint about the body
        data = IncidentWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        incident, _event = create_incident(actor=request.user, data=data.validated_data)
        return self._answer(incident, status.HTTP_201_CREATED)

    @extend_schema(request=IncidentWriteSerializer, responses={200: IncidentSerializer})
    def partial_update(self, request: Request, reference: str) -> Response:
        ensure_may_edit(request.user)  # 403 before 404 or 400
        incident = self.get_object()
        data = IncidentWriteSerializer(incident, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        incident, _event = update_incident(
            incident,
            actor=request.user,
            changes=data.validated_data,
            expected_version=expected_version(request),
        )
        return self._answer(incident)

    @extend_schema(
        request=TransitionPayloadSerializer,
        responses={200: IncidentSerializer},
        parameters=[
            OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH, enum=TRANSITIONS)
        ],
    )
    @action(detail=True, methods=["post"], url_path=r"transitions/(?P<name>[^/.]+)")
    def transition(self, request: Request, reference: str, name: str) -> Response:
        incident = run_transition(
            request,
            # Locked and loaded once, inside the transition's transaction.
            self._visible_reference(reference),
            name,
            names=TRANSITIONS,
            model=Incident,
            payload_class=TransitionPayloadSerializer,
            apply=apply_transition,
        )
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

    @extend_schema(responses={200: EventSerializer(many=True)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def timeline(self, request: Request, reference: str) -> Response:
        incident = self.get_object()
        events = incident.events.order_by("seq")
        page = self.paginate_queryset(events)
        return self.get_paginated_response(EventSerializer(page, many=True).data)


class EventFeedView(ListAPIView):
    """The resync feed: every event after ``seq``, oldest first, each with its incident."""

    filter_backends: list = []
    serializer_class = EventSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("after", OpenApiTypes.INT, description="last seq the client has"),
            OpenApiParameter("incident", OpenApiTypes.STR, description="one incident's reference"),
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
        events = Event.objects.visible_to(self.request.user).after(max(after, 0))
        reference = self.request.query_params.get("incident")
        if reference:
            events = events.filter(incident__reference=reference)
        return events.select_related("incident", "incident__commander")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        body = [
            {
                **EventSerializer(e).data,
                "incident_summary": IncidentSummarySerializer(e.incident).data,
            }
            for e in page
        ]
        return self.get_paginated_response(body)


class TokenView(ObtainAuthToken):
    """POST {username, password} -> {token}. Throttled per client address."""

    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"
    # DRF's view adds form parsers and its own JSON parser; ours refuses what breaks that one.
    parser_classes = [JSONParser, parsers.FormParser, parsers.MultiPartParser]
