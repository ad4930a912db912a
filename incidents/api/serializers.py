"""Input serializers parse and type-check; output serializers shape responses (STYLE.md rule 7)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject

from incidents.choices import AttackVector, Authority, DataCategory, Hosting, Severity
from incidents.lifecycle import (
    EDITABLE_FIELDS,
    REFERRAL_KEYS,
    commander_candidates,
    transition_options,
)
from incidents.models import Event, Incident
from incidents.notes import NOTE_MAX_LENGTH

MAX_SUBJECTS = 10**12


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
                    if key in self.read_only_names:
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


# The largest id a database integer column holds; a bigger number is no record's id.
MAX_ID = 2**63 - 1


class RecordIdField(serializers.PrimaryKeyRelatedField):
    """A record named by its id: a JSON integer, not a float (20.9 was taken as 20, 1e400 was a
    500) nor a boolean."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 1 <= data <= MAX_ID:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


def check_accepted(attrs: dict[str, Any], allowed: dict[str, tuple[str, ...]], name: str) -> None:
    """A transition payload holds only the keys its transition takes (``allowed[name]``), and
    the free ``note`` every transition takes."""
    extra = sorted(set(attrs) - set(allowed.get(name, ())) - {"note"})
    if extra:
        raise serializers.ValidationError(
            {key: [_("Not accepted by '%(name)s'.") % {"name": name}] for key in extra}
        )


def check_other_named(attrs: dict[str, Any], instance: Any = None) -> None:
    """An authority of kind "other" has a name (in ``attrs``, or already on ``instance``)."""
    authority = attrs.get("authority", getattr(instance, "authority", None))
    name = attrs.get("authority_name", getattr(instance, "authority_name", ""))
    if authority == Authority.OTHER and not name:
        raise serializers.ValidationError(
            {"authority_name": [_("Name the authority when it is 'other'.")]}
        )


class AffectedSystemSerializer(StrictInputMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    hosting = serializers.ChoiceField(choices=Hosting.choices)


READ_ONLY_INCIDENT_FIELDS = (
    "reference",
    "state",
    "version",
    "reporter",
    "scoping_started_at",
    "restoring_started_at",
    "restored_at",
    "referred_at",
    "closed_at",
    "dismissed_at",
    "no_referral_reason",
    "created_at",
    "updated_at",
    "available_transitions",
    "blocked_transitions",
)


class IncidentWriteSerializer(StrictInputMixin, serializers.Serializer):
    read_only_names = READ_ONLY_INCIDENT_FIELDS

    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=20000, allow_blank=True, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices)
    commander = serializers.SlugRelatedField(
        slug_field="username", queryset=commander_candidates(), allow_null=True, required=False
    )
    detected_at = MomentField(required=False)
    aware_at = MomentField(required=False)
    attack_vector = serializers.ChoiceField(
        choices=AttackVector.choices, allow_blank=True, required=False
    )
    source_details = serializers.CharField(max_length=20000, allow_blank=True, required=False)
    data_categories = serializers.ListField(
        child=serializers.ChoiceField(choices=DataCategory.choices), required=False, max_length=20
    )
    affected_systems = serializers.ListField(
        child=AffectedSystemSerializer(), required=False, max_length=200
    )
    affected_subjects_estimate = serializers.IntegerField(
        min_value=0, max_value=MAX_SUBJECTS, allow_null=True, required=False
    )
    restoration_summary = serializers.CharField(max_length=20000, allow_blank=True, required=False)
    high_risk = serializers.BooleanField(required=False)

    def validate_data_categories(self, value: list[str]) -> list[str]:
        return sorted(set(value))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The rules between fields (aware_at not before detected_at) are the domain's.
        assert set(attrs) <= set(EDITABLE_FIELDS)
        return attrs


class TransitionPayloadSerializer(StrictInputMixin, serializers.Serializer):
    """Every key any transition accepts; which ones a transition may carry is checked below."""

    ALLOWED = {
        "start_scoping": (),
        "start_restoration": (),
        "mark_restored": ("restoration_summary",),
        "refer": REFERRAL_KEYS,
        "close": ("reason",),
        "dismiss": ("reason",),
        "reopen": ("reason",),
    }

    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    restoration_summary = serializers.CharField(max_length=20000, required=False, allow_blank=True)
    authority = serializers.ChoiceField(choices=Authority.choices, required=False)
    authority_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    submitted_at = MomentField(required=False)
    case_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    contact = serializers.CharField(max_length=300, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=20000, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        check_accepted(attrs, self.ALLOWED, self.context["transition"])
        check_other_named(attrs)
        return attrs


class NoteSerializer(StrictInputMixin, serializers.Serializer):
    text = serializers.CharField(max_length=NOTE_MAX_LENGTH)


class CachedFieldsMixin:
    """Output serializers whose fields are built and bound once per class, not per response.

    DRF builds a ModelSerializer's fields by model introspection and deep-copies them for every
    instance; together that was the largest cost of a transition's response and of each live
    stream frame (bench/README.md). Read-only output fields keep no per-response state, so
    ``to_representation`` reads through one bound set per class. Fields that need the instance's
    own serializer (``SerializerMethodField``: the method and its context) still get it.
    ``self.fields`` is DRF's own, for schema generation."""

    @classmethod
    def _bound_fields(cls) -> list[serializers.Field]:
        if "_bound_template" not in cls.__dict__:
            fields = [f for f in cls().fields.values() if not f.write_only]
            nested = [f.field_name for f in fields if isinstance(f, serializers.BaseSerializer)]
            if nested:  # a nested serializer would read the template's context, not ours
                raise TypeError(f"{cls.__name__}: nested serializers are not supported: {nested}")
            cls._bound_template = fields
        return cls._bound_template

    def to_representation(self, instance: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in self._bound_fields():
            if isinstance(field, serializers.SerializerMethodField):
                out[field.field_name] = getattr(self, field.method_name)(instance)
                continue
            try:
                value = field.get_attribute(instance)
            except SkipField:
                continue
            empty = (value.pk if isinstance(value, PKOnlyObject) else value) is None
            out[field.field_name] = None if empty else field.to_representation(value)
        return out


class IncidentSerializer(CachedFieldsMixin, serializers.ModelSerializer):
    reporter = serializers.SlugRelatedField(slug_field="username", read_only=True)
    commander = serializers.SlugRelatedField(slug_field="username", read_only=True)
    available_transitions = serializers.SerializerMethodField()
    blocked_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = (
            "reference",
            "title",
            "summary",
            "severity",
            "state",
            "reporter",
            "commander",
            "detected_at",
            "aware_at",
            "scoping_started_at",
            "restoring_started_at",
            "restored_at",
            "referred_at",
            "closed_at",
            "dismissed_at",
            "attack_vector",
            "source_details",
            "data_categories",
            "affected_systems",
            "affected_subjects_estimate",
            "restoration_summary",
            "no_referral_reason",
            "high_risk",
            "version",
            "created_at",
            "updated_at",
            "available_transitions",
            "blocked_transitions",
        )
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


class IncidentSummarySerializer(CachedFieldsMixin, serializers.ModelSerializer):
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


class EventSerializer(CachedFieldsMixin, serializers.ModelSerializer):
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
