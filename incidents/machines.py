"""Every state machine of an incident, run by one runner (STYLE.md rules 4 and 17).

A ``Machine`` is a declarative spec: its transitions (``Step``), the payload keys each accepts
and requires, and each key's kind and limits (``Key``). The model's django-fsm decorators hold
the rest of the machine: sources, targets, guards and who may run it (``core.roles.Roles``).
The API's payload serializers (incidents/api/payloads.py) and the pages' transition forms
(frontend/forms.py) are built from these specs, so the API, the pages and Telegram accept the
same keys with the same limits.

``run_transition`` runs any transition of any machine the same way: check the role, lock the
incident (``changing``), load the record, check the state, the version, the payload and the
guards, run the django-fsm method, save, append one event; one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model
from django.utils.translation import gettext as _
from django_fsm import ANY_STATE, can_proceed

from incidents.changing import changing, record_of, save_changes, snapshot
from incidents.choices import NOTE_MAX_LENGTH
from incidents.errors import RequirementsMissing, RoleForbidden, StateConflict, UnknownTransition
from incidents.events import append_event
from incidents.guards import REQUIREMENTS, missing_fields
from incidents.models import Event, Incident

# The kinds of value a payload key holds; the serializer and form factories map each to a field.
TEXT, CHOICE, MOMENT, EVIDENCE = "text", "choice", "moment", "evidence"


@dataclass(frozen=True)
class Key:
    """One key a transition's payload may carry, with its limits.

    ``remark``: a free remark kept in the event only (the API takes it with every transition of
    the machine; pages do not ask for it)."""

    name: str
    kind: str = TEXT
    max_length: int | None = None
    choices: Any = None  # a TextChoices class, for CHOICE
    remark: bool = False

    @classmethod
    def text_of(cls, model: type[Model], name: str, key: str | None = None) -> Key:
        """A text key that fills (or mirrors) ``model.name``: its limit is the column's."""
        return cls(key or name, TEXT, model._meta.get_field(name).max_length)


# A remark any transition of the incident or of a referral may carry, kept in its event.
REMARK = Key("note", max_length=NOTE_MAX_LENGTH, remark=True)


@dataclass(frozen=True)
class Step:
    """One transition of a machine: the keys it accepts and the keys it requires whatever the
    record already holds (``requires`` is a subset of ``accepts``)."""

    name: str
    accepts: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per machine
class Machine:
    """What differs between the machines; ``run_transition`` is the same for all."""

    model: type[Model]
    steps: tuple[Step, ...]
    keys: tuple[Key, ...]
    # Event kind prefix: "" for the incident's own lifecycle ("refer"), "referral" for a
    # record's ("referral.submit").
    kind: str = ""
    # Payload key -> the record's field it fills before the guards are checked.
    stages: dict[str, str] = field(default_factory=dict)
    # (incident, record, name, payload): domain checks of the payload (moments in order, ...);
    # raises InvalidChange. Runs before anything is staged.
    check: Callable[[Incident, Any, str, dict[str, Any]], None] = lambda *args: None
    # (incident, record, name, payload, actor): what a transition writes beside its record,
    # after staging and before the guards (refer files the referral it needs).
    prepare: Callable[[Incident, Any, str, dict[str, Any], Any], None] = lambda *args: None
    # (record, name, actor, payload) -> keyword arguments of the django-fsm method.
    call_args: Callable[[Any, str, Any, dict[str, Any]], dict[str, Any]] = lambda *args: {}
    # The short description of a record carried by its events (records only).
    describe: Callable[[Any], dict[str, Any]] = lambda record: {"id": record.pk}
    # (incident, record, name, actor) -> data for the event: what the transition brought with
    # it, written in the same transaction after the django-fsm method (entering a phase adds
    # its runbook tasks, incidents/workspace/tasks.py).
    after: Callable[[Incident, Any, str, Any], dict[str, Any]] = lambda *args: {}
    # (record, missing) -> keys beside ``missing`` in the refusal, naming what is missing
    # (the open required tasks when "tasks" is).
    explain: Callable[[Any, list[str]], dict[str, Any]] = lambda *args: {}

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise UnknownTransition(name)

    def key(self, name: str) -> Key:
        return next(key for key in self.keys if key.name == name)

    @property
    def records(self) -> bool:
        """A record of an incident (referral, obligation), not the incident itself."""
        return self.model is not Incident

    def transitions(self) -> list[Any]:
        """Every django-fsm Transition of the machine (one per source state)."""
        return list(self.model._meta.get_field("state").get_all_transitions(self.model))

    def who(self, name: str) -> frozenset[str]:
        """The roles that may run ``name`` from some state (for pages and docs)."""
        names: set[str] = set()
        for t in self.transitions():
            if t.name == name:
                names |= getattr(t.permission, "names", frozenset())
        return frozenset(names)

    def may_run(self, user: Any, name: str) -> bool:
        """Whether the user's role may run this transition from some state (403 before 409)."""
        return any(t.name == name and t.has_perm(None, user) for t in self.transitions())

    def ensure_may_run(self, user: Any, name: str) -> None:
        """RoleForbidden unless the user's role may run ``name`` from some state. The runner
        checks it first; the API checks it before parsing, so a caller who may never run the
        transition hears 403, not a complaint about the body."""
        if not self.may_run(user, name):
            raise RoleForbidden(
                _("Your role may not run '%(name)s' on %(records)s.")
                % {"name": name, "records": self.model._meta.verbose_name_plural}
            )

    def order(self, names: Any) -> list[str]:
        return sorted(names, key=self.names.index)

    def run(self, target: Any, name: str, **kwargs: Any) -> tuple[Any, Event]:
        """``run_transition`` on this machine."""
        return run_transition(self, target, name, **kwargs)


def _from_here(record: Any) -> list[Any]:
    """The django-fsm Transitions leaving the record's current state, guards or not."""
    here = (record.state, ANY_STATE)
    return [t for t in record.get_all_state_transitions() if t.source in here]


def leaving(record: Any, name: str) -> Any | None:
    """The django-fsm Transition ``name`` out of the record's current state, or None."""
    if not can_proceed(getattr(record, name), check_conditions=False):
        return None
    return next(t for t in _from_here(record) if t.name == name)


def allowed_names(machine: Machine, record: Any, user: Any) -> list[str]:
    """What this user may run on the record now, in the machine's order (guards met)."""
    available = record.get_available_user_state_transitions(user)
    return machine.order({t.name for t in available})


@dataclass(frozen=True)
class Option:
    """A transition the user may run from the current state, and what it still lacks."""

    name: str
    target: str
    missing: tuple[str, ...]
    takes_payload: bool  # from this state, the transition still needs something given with it
    accepts: tuple[str, ...]  # the keys a page may ask for (remarks left out)


def options(machine: Machine, record: Any, user: Any) -> list[Option]:
    """Transitions this user may run from the current state, with what each still lacks
    (requirements the payload itself can satisfy are not counted as lacking)."""
    found = []
    for t in _from_here(record):
        if not t.has_perm(record, user):
            continue
        step = machine.step(t.name)
        lacking = [c for c in t.conditions if not REQUIREMENTS[c].by_payload]
        by_payload = [c for c in t.conditions if REQUIREMENTS[c].by_payload]
        # Something to give: a required key, or a guard only the payload can still meet (refer
        # takes nothing once a submitted referral is on record).
        takes = bool(step.requires) or bool(missing_fields(record, by_payload))
        accepts = tuple(k for k in step.accepts if not machine.key(k).remark)
        found.append(
            Option(t.name, t.target, tuple(missing_fields(record, lacking)), takes, accepts)
        )
    return sorted(found, key=lambda o: machine.names.index(o.name))


def ready_names(machine: Machine, record: Any, user: Any) -> list[str]:
    """What this user may run now with nothing to give: no payload required and every guard
    already met (what a one-tap button can offer, e.g. in Telegram)."""
    return [n for n in allowed_names(machine, record, user) if not machine.step(n).requires]


def _located(machine: Machine, target: Any) -> Any:
    """What ``changing`` locks for ``target``: the incident (or its reference), or a record's
    incident."""
    return target.incident_id if machine.records else target


def run_transition(
    machine: Machine,
    target: Any,
    name: str,
    *,
    actor: Any,
    payload: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> tuple[Any, Event]:
    """Run one transition and log it on the incident's timeline, in one transaction.

    ``target`` is the incident (or its reference: IncidentNotFound if there is none) or the
    record; ``payload`` holds already type-checked values (empty ones count as not given);
    ``expected_version`` is the version of what ``target`` names. Returns the changed record
    (or incident) and its event."""
    payload = {k: v for k, v in (payload or {}).items() if v not in (None, "")}
    step = machine.step(name)
    machine.ensure_may_run(actor, name)
    incident_version = None if machine.records else expected_version
    with changing(_located(machine, target), expected_version=incident_version) as incident:
        record = incident
        if machine.records:
            record = record_of(incident, machine.model, target.pk, expected_version)
        transition = _runnable(machine, record, name, actor)
        missing = [k for k in step.requires if k not in payload]
        if missing:
            raise RequirementsMissing(missing)
        machine.check(incident, record, name, payload)
        before = snapshot(record)
        for key, field_name in machine.stages.items():
            if key in payload and key in step.accepts:
                setattr(record, field_name, payload[key])
        machine.prepare(incident, record, name, payload, actor)
        missing = missing_fields(record, transition.conditions)
        if missing:
            raise RequirementsMissing(missing, **machine.explain(record, missing))
        from_state = record.state
        getattr(record, name)(**machine.call_args(record, name, actor, payload))
        save_changes(record, before)
        extra = machine.after(incident, record, name, actor)
        event = _log(machine, incident, record, name, actor, payload, from_state, extra)
    return record, event


def _runnable(machine: Machine, record: Any, name: str, actor: Any) -> Any:
    """The Transition ``name`` leaving the record's state, if the actor's role may run it from
    here: StateConflict (with what is allowed) or RoleForbidden otherwise."""
    transition = leaving(record, name)
    if transition is None:
        allowed = [o.name for o in options(machine, record, actor)]
        raise StateConflict(state=record.state, allowed=allowed, name=name)
    if not transition.has_perm(record, actor):
        raise RoleForbidden(
            _("Your role may not run '%(name)s' from '%(state)s'.")
            % {"name": name, "state": record.state}
        )
    return transition


def _log(
    machine: Machine,
    incident: Incident,
    record: Any,
    name: str,
    actor: Any,
    payload: dict[str, Any],
    from_state: str,
    extra: dict[str, Any],
) -> Event:
    if not machine.records:
        data = {**payload, **extra}
        return append_event(
            incident, name, actor=actor, data=data, from_state=from_state, to_state=record.state
        )
    data = {
        machine.kind: machine.describe(record),
        "from": from_state,
        "to": record.state,
        # A record key (the obligation's proof) is in the description, by id.
        **{k: v for k, v in payload.items() if machine.key(k).kind != EVIDENCE},
        **extra,
    }
    return append_event(incident, f"{machine.kind}.{name}", actor=actor, data=data)
