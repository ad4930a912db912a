"""One runner for the small lifecycles of an incident's own records (referrals, obligations).

Same shape as lifecycle.apply_transition (STYLE.md rule 4): lock the incident row, then the
record's row, check role / version / state / required payload, run the django-fsm method, save,
and append one event to the incident's timeline, all in one transaction. Lock order is the
incident row, then the record, then the log head (append_event), the same everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext as _

from incidents.errors import (
    RequirementsMissing,
    RoleForbidden,
    StaleVersion,
    StateConflict,
    UnknownTransition,
)
from incidents.events import append_event
from incidents.models import Event, Incident


@dataclass(frozen=True)
class RecordLifecycle:
    """What differs between record kinds; the runner below is the same for all."""

    model: type[models.Model]
    kind: str  # event kind prefix: "referral" -> "referral.submit"
    transitions: tuple[str, ...]
    # Payload keys a transition requires, and payload keys copied onto the record first.
    required: dict[str, tuple[str, ...]] = field(default_factory=dict)
    staged: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Builds the keyword arguments of the fsm method from (record, actor, payload).
    call_args: Callable[[Any, str, Any, dict[str, Any]], dict[str, Any]] = (
        lambda record, name, actor, payload: {}
    )
    # The event's data: a short description of the record (its id and kind-specific keys).
    describe: Callable[[Any], dict[str, Any]] = lambda record: {"id": record.pk}
    # Checks the payload against the locked incident and record (incident, record, name,
    # payload); raises InvalidChange. Runs before anything is staged.
    check: Callable[[Incident, Any, str, dict[str, Any]], None] = (
        lambda incident, record, name, payload: None
    )


def fsm_transitions(model: type[models.Model]) -> list[Any]:
    """Every django-fsm Transition of a model's ``state`` field (one per source state)."""
    return list(model._meta.get_field("state").get_all_transitions(model))


def role_may_run(model: type[models.Model], user: Any, name: str) -> bool:
    """Whether the user's role may run this transition from some state (403 before 409)."""
    return any(t.name == name and t.has_perm(None, user) for t in fsm_transitions(model))


def ensure_may_run(model: type[models.Model], actor: Any, name: str) -> None:
    """RoleForbidden unless the actor's role may run ``name`` from some state. The domain
    functions check it first; the API checks it before parsing, so a caller who may never run
    the transition hears 403, not a complaint about the body."""
    if not role_may_run(model, actor, name):
        raise RoleForbidden(
            _("Your role may not run '%(name)s' on %(records)s.")
            % {"name": name, "records": model._meta.verbose_name_plural}
        )


def allowed_names(record: Any, actor: Any) -> list[str]:
    """Transitions this actor may run on the record from its current state."""
    return sorted(
        {
            t.name
            for t in fsm_transitions(type(record))
            if t.source in (record.state, "*") and t.has_perm(record, actor)
        }
    )


@contextmanager
def locked_record(
    model: type[models.Model], record: Any, expected_version: int | None = None
) -> Iterator[tuple[Incident, Any]]:
    """Lock the record's incident, then the record; yield both. Use for every change of a
    record that belongs to an incident, so two writers never deadlock on opposite orders."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=record.incident_id)
        locked = model.objects.select_for_update().get(pk=record.pk)
        if expected_version is not None and expected_version != locked.version:
            raise StaleVersion(current=locked.version)
        yield incident, locked


def run_record_transition(
    spec: RecordLifecycle,
    record: Any,
    name: str,
    *,
    actor: Any,
    payload: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> tuple[Any, Event]:
    """Run one transition of a record's lifecycle and log it on the incident's timeline."""
    payload = {k: v for k, v in (payload or {}).items() if v not in (None, "")}
    if name not in spec.transitions:
        raise UnknownTransition(name)
    ensure_may_run(spec.model, actor, name)
    with locked_record(spec.model, record, expected_version) as (incident, locked):
        if name not in {t.name for t in fsm_transitions(spec.model) if t.source == locked.state}:
            raise StateConflict(state=locked.state, allowed=allowed_names(locked, actor), name=name)
        missing = [k for k in spec.required.get(name, ()) if k not in payload]
        if missing:
            raise RequirementsMissing(missing)
        spec.check(incident, locked, name, payload)
        for key in spec.staged.get(name, ()):
            if key in payload:
                setattr(locked, key, payload[key])
        from_state = locked.state
        getattr(locked, name)(**spec.call_args(locked, name, actor, payload))
        locked.version += 1
        locked.save()
        event = append_event(
            incident,
            f"{spec.kind}.{name}",
            actor=actor,
            data={
                spec.kind: spec.describe(locked),
                "from": from_state,
                "to": locked.state,
                **{k: v for k, v in payload.items() if k not in ("document",)},
            },
        )
    return locked, event
