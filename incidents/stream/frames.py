"""The shapes of an event and of the incident it carries, as the REST feed (/api/events/), the
timeline and the live stream's frames send them. They read the tables only, so the stream can
build its frames without importing the lifecycle."""

from __future__ import annotations

from rest_framework import serializers

from incidents.models import Event, Incident


class IncidentSummarySerializer(serializers.ModelSerializer):
    """The compact incident carried by each event (websocket and /api/events/)."""

    commander = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Incident
        fields = (
            "reference",
            "title",
            "severity",
            "state",
            "version",
            "commander",
            "detected_at",
            "aware_at",
            "updated_at",
        )
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    actor = serializers.CharField(source="actor_username", read_only=True)

    class Meta:
        model = Event
        fields = (
            "seq",
            "incident",
            "kind",
            "actor",
            "created_at",
            "from_state",
            "to_state",
            "data",
            "prev_hash",
            "hash",
        )
        read_only_fields = fields
