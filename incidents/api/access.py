"""Need to know over the API: the restriction's input (``restricted``, ``members`` on
``PATCH /api/incidents/{ref}/``) and the access log for admins (``GET /api/access-log/``)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.permissions import BasePermission

from core.api.pagination import IdKeysetPagination
from core.roles import ADMIN, roles_of
from incidents.api.serializers import IncidentWriteSerializer, StrictInputMixin
from incidents.models import AccessKind, AccessRecord

# The keys of an incident's PATCH that change who reads it (incidents/need_to_know.py).
ACCESS_KEYS = ("restricted", "members")
MAX_MEMBERS = 200


class RestrictionSerializer(StrictInputMixin, serializers.Serializer):
    restricted = serializers.BooleanField(required=False)
    members = serializers.ListField(
        child=serializers.CharField(max_length=150), required=False, max_length=MAX_MEMBERS
    )


class IncidentPatchSerializer(IncidentWriteSerializer):
    """What ``PATCH /api/incidents/{ref}/`` takes, for the schema: the incident's editable
    fields, and who reads it (the commander, legal and admins only: others get a 403)."""

    restricted = serializers.BooleanField(required=False)
    members = serializers.ListField(
        child=serializers.CharField(max_length=150), required=False, max_length=MAX_MEMBERS
    )


class AccessRecordSerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    user = serializers.CharField(source="username", read_only=True)

    class Meta:
        model = AccessRecord
        fields = ("id", "at", "incident", "kind", "target", "user", "address", "user_agent")
        read_only_fields = fields


class AccessRecordFilter(django_filters.FilterSet):
    incident = django_filters.CharFilter(field_name="incident__reference", max_length=32)
    user = django_filters.CharFilter(field_name="username", max_length=150)
    kind = django_filters.ChoiceFilter(choices=AccessKind.choices)
    since = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AccessRecord
        fields: list[str] = []


class IsAdmin(BasePermission):
    message = gettext_lazy("Only admins read the access log.")

    def has_permission(self, request: Any, view: Any) -> bool:
        return ADMIN in roles_of(request.user)


class NewestFirst(IdKeysetPagination):
    """Newest record first."""

    ordering = "-id"


class AccessLogView(ListAPIView):
    """Who read what: restricted incidents opened, evidence downloaded, dossiers exported.
    Filters: ``incident`` (reference), ``user`` (username), ``kind``, ``since``/``until``
    (ISO 8601)."""

    permission_classes = [IsAdmin]
    serializer_class = AccessRecordSerializer
    pagination_class = NewestFirst
    filter_backends = [DjangoFilterBackend]
    filterset_class = AccessRecordFilter
    queryset = AccessRecord.objects.select_related("incident")
