"""Transition payloads as the API parses them, built from each machine's spec
(incidents/machines.py): one serializer per machine, whose fields, limits and accepted keys are
the spec's, so the API cannot disagree with the pages or Telegram."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from incidents.api.serializers import MomentField, RecordIdField, StrictInputMixin
from incidents.machines import CHOICE, EVIDENCE, MOMENT, TEXT, Key, Machine
from incidents.models import Evidence


def _field(key: Key) -> serializers.Field:
    if key.kind == TEXT:
        return serializers.CharField(max_length=key.max_length, required=False, allow_blank=True)
    if key.kind == CHOICE:
        return serializers.ChoiceField(choices=key.choices.choices, required=False)
    if key.kind == MOMENT:
        return MomentField(required=False)
    if key.kind == EVIDENCE:
        return RecordIdField(queryset=Evidence.objects.all(), required=False, allow_null=True)
    raise ValueError(f"no API field for a {key.kind!r} key")


class _Payload(StrictInputMixin, serializers.Serializer):
    machine: Machine

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Only the keys this transition takes (the context's ``transition``)."""
        name = self.context["transition"]
        extra = sorted(set(attrs) - set(self.machine.step(name).accepts))
        if extra:
            raise serializers.ValidationError(
                {key: [_("Not accepted by '%(name)s'.") % {"name": name}] for key in extra}
            )
        return attrs


@cache
def payload_serializer(machine: Machine) -> type[serializers.Serializer]:
    """The serializer of ``machine``'s payloads: every key any of its transitions takes; which
    ones one transition may carry is checked in ``validate``."""
    name = f"{machine.model.__name__}TransitionPayload"
    fields = {key.name: _field(key) for key in machine.keys}
    return type(name, (_Payload,), {"machine": machine, **fields, "__module__": __name__})


def parse_payload(machine: Machine, data: Any, name: str) -> dict[str, Any]:
    """The transition's payload, type-checked; a 400 naming each bad key otherwise."""
    if data == {}:
        return {}  # most transitions carry no body (what it lacks is the runner's to say)
    # Anything but an object ([], false, null) is refused by the serializer, not taken as empty.
    payload = payload_serializer(machine)(data=data, context={"transition": name})
    payload.is_valid(raise_exception=True)
    return payload.validated_data
