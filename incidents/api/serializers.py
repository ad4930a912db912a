"""Input serializers parse and type-check; output serializers shape responses (STYLE.md rule 7)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.pagination import MAX_ID
from incidents.api.update_serializers import StatusUpdateSerializer
from incidents.choices import (
    MAX_SUBJECTS,
    MAX_SYSTEMS,
    NOTE_MAX_LENGTH,
    SYSTEM_NAME_MAX_LENGTH,
    AttackVector,
    DataCategory,
    Hosting,
    Severity,
)
from incidents.lifecycle import EDITABLE_FIELDS, commander_candidates, transition_options
from incidents.models import FACTS, SCOPE, STAMPS, Incident
from incidents.workspace.updates import latest_update


class StrictInputMixin:
    """Refuse keys the serializer does not know, naming read-only ones, instead of ignoring them;
    and numbers where text is expected, which DRF would quietly turn into text (1e400: "inf")."""

    read_only_names: tuple[str, ...] = ()

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            errors = {}
            for key, value in data.items():
                field = self.fields.get(key)
                if field is None:
                    if key == "high_risk" and key in self.read_only_names:
                        errors[key] = [
                            _(
                                "This field follows the notification decision "
                                "(PUT /api/incidents/{reference}/notification-decision/)."
                            )
                        ]
                    elif key in self.read_only_names:
                        errors[key] = [
                            _("This field is read-only; it changes only through the lifecycle.")
                        ]
                    else:
                        errors[key] = [_("Unknown field.")]
                elif isinstance(field, serializers.CharField) and not isinstance(value, str | None):
                    # (ChoiceField is no CharField: it refuses a number that is not a choice.)
                    errors[key] = [_("Not a valid string.")]
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class MomentField(serializers.DateTimeField):
    """A date-time a person gives. DRF's own overflows (a 500) on naive values within hours of
    year 1, while making them aware in TIME_ZONE; here that is an invalid value like any other.
    Whether the moment is plausible is the domain's rule (incidents/moments.py)."""

    def to_internal_value(self, value: Any) -> Any:
        try:
            return super().to_internal_value(value)
        except OverflowError:
            self.fail("invalid", format="ISO 8601")


class RecordIdField(serializers.PrimaryKeyRelatedField):
    """A record named by its id: a JSON integer, not a float (20.9 was taken as 20, 1e400 was a
    500) nor a boolean."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


def _column_text(name: str, **kwargs: Any) -> serializers.CharField:
    """A text field as long as the incident's column allows."""
    return serializers.CharField(max_length=Incident._meta.get_field(name).max_length, **kwargs)


class AffectedSystemSerializer(StrictInputMixin, serializers.Serializer):
    name = serializers.CharField(max_length=SYSTEM_NAME_MAX_LENGTH)
    hosting = serializers.ChoiceField(choices=Hosting.choices)


# The incident as the API shows it; what is not editable (EDITABLE_FIELDS) changes only
# through the lifecycle, and a write naming it hears so.
INCIDENT_SHAPE = (
    "reference",
    "state",
    "reporter",
    *FACTS,
    *STAMPS,
    *SCOPE,
    "restoration_summary",
    "no_referral_reason",
    "high_risk",
    "restricted",
    "members",
    "version",
    "created_at",
    "updated_at",
    "next_update_at",
    "latest_update",
    "available_transitions",
    "blocked_transitions",
)
READ_ONLY_INCIDENT_FIELDS = tuple(f for f in INCIDENT_SHAPE if f not in EDITABLE_FIELDS)


class IncidentWriteSerializer(StrictInputMixin, serializers.Serializer):
    read_only_names = READ_ONLY_INCIDENT_FIELDS

    title = _column_text("title")
    summary = _column_text("summary", allow_blank=True, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices)
    commander = serializers.SlugRelatedField(
        slug_field="username", queryset=commander_candidates(), allow_null=True, required=False
    )
    detected_at = MomentField(required=False)
    aware_at = MomentField(required=False)
    attack_vector = serializers.ChoiceField(
        choices=AttackVector.choices, allow_blank=True, required=False
    )
    source_details = _column_text("source_details", allow_blank=True, required=False)
    data_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=DataCategory.choices), required=False, max_length=20
    )
    affected_systems = serializers.ListField(
        child=AffectedSystemSerializer(), required=False, max_length=MAX_SYSTEMS
    )
    affected_subjects_estimate = serializers.IntegerField(
        min_value=0, max_value=MAX_SUBJECTS, allow_null=True, required=False
    )
    restoration_summary = _column_text("restoration_summary", allow_blank=True, required=False)

    def validate_data_categories(self, value: list[str]) -> list[str]:
        return sorted(set(value))


class NoteSerializer(StrictInputMixin, serializers.Serializer):
    text = serializers.CharField(max_length=NOTE_MAX_LENGTH)


class IncidentSerializer(serializers.ModelSerializer):
    reporter = serializers.SlugRelatedField(slug_field="username", read_only=True)
    # No commander yet is null: said so in the schema (issue 17 item 5).
    commander = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    # Who reads it beside its commander and admins, when ``restricted`` (need to know).
    members = serializers.SlugRelatedField(slug_field="username", many=True, read_only=True)
    # Not chosen yet is "": the schema lists it beside the enum (issue 17 item 5).
    attack_vector = serializers.ChoiceField(
        choices=AttackVector.choices, allow_blank=True, read_only=True
    )
    available_transitions = serializers.SerializerMethodField()
    blocked_transitions = serializers.SerializerMethodField()
    # When the commander owes the next status update (null: none); the newest update (issue 20).
    next_update_at = serializers.DateTimeField(read_only=True, allow_null=True)
    latest_update = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = INCIDENT_SHAPE
        read_only_fields = fields

    def _options(self, incident: Incident) -> list:
        cache = self.context.setdefault("_options", {})
        key = (incident.pk, incident.version)
        if key not in cache:
            cache[key] = transition_options(incident, self.context["request"].user)
        return cache[key]

    def get_available_transitions(self, incident: Incident) -> list[str]:
        return [o.name for o in self._options(incident) if not o.missing]

    def get_blocked_transitions(self, incident: Incident) -> dict[str, list[str]]:
        return {o.name: list(o.missing) for o in self._options(incident) if o.missing}

    @extend_schema_field(StatusUpdateSerializer(allow_null=True))
    def get_latest_update(self, incident: Incident) -> dict[str, Any] | None:
        update = latest_update(incident)
        return StatusUpdateSerializer(update).data if update else None
