"""The shapes of an event and of the incident it carries, as the REST feed (/api/events/), the
timeline and the live stream's frames send them. They read the tables only, so the stream can
build its frames without importing the lifecycle."""

from __future__ import annotations

from rest_framework import serializers

from incidents.models import EVENT_BODY, Event, Incident

# The incident as each event carries it: enough to update a dashboard row without a fetch.
SUMMARY = (
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


class IncidentSummarySerializer(serializers.ModelSerializer):
    """The compact incident carried by each event (websocket and /api/events/)."""

    # None while nobody commands the incident: the schema says so (the fuzz checks answers).
    commander = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Incident
        fields = SUMMARY
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    incident = serializers.SlugRelatedField(slug_field="reference", read_only=True)
    actor = serializers.CharField(source="actor_username", read_only=True)

    class Meta:
        model = Event
        fields = ("seq", "incident", "kind", "actor", *EVENT_BODY)
        read_only_fields = fields
