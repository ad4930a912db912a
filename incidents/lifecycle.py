"""The domain functions: every change of an incident goes through here (STYLE.md rule 4).

Views, admin actions, Telegram buttons and management commands all call these; each runs in
one transaction that locks the incident, changes it and appends exactly one event.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.prepared import PreparedQuery, update_row
from core.roles import ADMIN, ENGINEER, WRITER_ROLES, has_any_role
from incidents.choices import TERMINAL_STATES
from incidents.errors import (
    EditNotAllowed,
    IncidentNotFound,
    RequirementsMissing,
    RoleForbidden,
    StaleVersion,
    StateConflict,
    UnknownTransition,
)
from incidents.events import append_event, lock_log_head
from incidents.guards import REQUIREMENTS, missing_fields
from incidents.models import Event, Incident, Referral
from incidents.moments import check_detection, check_moments, check_not_before
from incidents.obligations import sync_obligations
from incidents.record_transitions import ensure_may_run, fsm_transitions

TRANSITIONS = (
    "start_scoping",
    "start_restoration",
    "mark_restored",
    "refer",
    "close",
    "dismiss",
    "reopen",
)
# Payload keys a transition requires whatever the incident holds.
REQUIRED_PAYLOAD: dict[str, tuple[str, ...]] = {"dismiss": ("reason",), "reopen": ("reason",)}
# Payload keys that fill an incident field before the guards are checked.
STAGED_FIELDS: dict[str, dict[str, str]] = {
    "mark_restored": {"restoration_summary": "restoration_summary"},
    "close": {"reason": "no_referral_reason"},
}
REFERRAL_KEYS = ("authority", "authority_name", "submitted_at", "case_number", "contact", "notes")
EDITABLE_FIELDS = (
    "title",
    "summary",
    "severity",
    "commander",
    "detected_at",
    "aware_at",
    "attack_vector",
    "source_details",
    "data_categories",
    "affected_systems",
    "affected_subjects_estimate",
    "restoration_summary",
    "high_risk",
)


@dataclass(frozen=True)
class TransitionOption:
    name: str
    target: str
    missing: tuple[str, ...]
    takes_payload: bool  # from this state, the transition still needs something given with it


def all_transitions() -> list[Any]:
    """Every django-fsm Transition of the incident lifecycle (one per source state)."""
    return fsm_transitions(Incident)


def _transitions_from(incident: Incident) -> dict[str, Any]:
    """name -> django-fsm Transition leaving the incident's current state."""
    return {t.name: t for t in all_transitions() if t.source == incident.state}


def _permitted_from(incident: Incident, user: Any) -> list[tuple[str, Any]]:
    """(name, django-fsm Transition) this user may run from the current state, in lifecycle
    order."""
    leaving = sorted(_transitions_from(incident).items(), key=lambda i: TRANSITIONS.index(i[0]))
    return [(name, t) for name, t in leaving if t.has_perm(incident, user)]


def transition_options(incident: Incident, user: Any) -> list[TransitionOption]:
    """Transitions this user may run from the current state, with what each still lacks
    (requirements the payload itself can satisfy are not counted as lacking)."""
    options = []
    for name, t in _permitted_from(incident, user):
        lacking = [c for c in t.conditions if not REQUIREMENTS[c].by_payload]
        by_payload = [c for c in t.conditions if REQUIREMENTS[c].by_payload]
        # Something to give: a required key, or a guard only the payload can still meet (refer
        # takes nothing once a submitted referral is on record).
        takes = bool(REQUIRED_PAYLOAD.get(name)) or bool(missing_fields(incident, by_payload))
        missing = tuple(missing_fields(incident, lacking))
        options.append(TransitionOption(name, t.target, missing, takes))
    return options


def ready_transitions(incident: Incident, user: Any) -> list[str]:
    """Transitions this user may run from the current state with nothing to give: no payload
    required and every guard already met (what a one-tap button can offer, e.g. in Telegram)."""
    return [
        name
        for name, t in _permitted_from(incident, user)
        if not REQUIRED_PAYLOAD.get(name) and not missing_fields(incident, list(t.conditions))
    ]


# Locking and loading the incident is the heaviest query of every change (a join of some 50
# columns); compiled once, it costs a tenth of what building it each time did (core/prepared.py).
_LOCK_BY_REFERENCE: PreparedQuery[Incident] = PreparedQuery(
    lambda reference: (
        Incident.objects.filter(reference=reference).select_for_update(of=("self",)).with_people()
    )
)


@contextmanager
def _locked(target: Incident | str, expected_version: int | None) -> Iterator[Incident]:
    """Lock and load the incident, given as one or by its reference (so the API locks by
    reference in one query instead of fetching the row first)."""
    reference = target if isinstance(target, str) else target.reference
    with transaction.atomic():
        locked = _LOCK_BY_REFERENCE.get(reference)
        if locked is None:
            raise IncidentNotFound()
        if expected_version is not None and expected_version != locked.version:
            raise StaleVersion(current=locked.version)
        yield locked


def _values(incident: Incident) -> dict[str, Any]:
    return {f.attname: getattr(incident, f.attname) for f in Incident._meta.concrete_fields}


def _save_changes(incident: Incident, before: dict[str, Any]) -> None:
    """Save what the change touched (and the version and update time): a transition rewrites a
    handful of the incident's ~30 columns."""
    incident.version += 1
    incident.updated_at = timezone.now()
    changed = [name for name, old in before.items() if getattr(incident, name) != old]
    update_row(incident, changed)


def apply_transition(
    incident: Incident | str,
    name: str,
    *,
    actor: Any,
    payload: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> tuple[Incident, Event]:
    """Run one lifecycle transition. ``payload`` holds already type-checked values; ``incident``
    is the incident or its reference (IncidentNotFound if there is none)."""
    payload = {k: v for k, v in (payload or {}).items() if v not in (None, "")}
    if name not in TRANSITIONS:
        raise UnknownTransition(name)
    ensure_may_run(Incident, actor, name)
    with _locked(incident, expected_version) as locked:
        method = getattr(locked, name)
        available = _transitions_from(locked)
        if name not in available:
            allowed = [o.name for o in transition_options(locked, actor)]
            raise StateConflict(state=locked.state, allowed=allowed, name=name)
        if not available[name].has_perm(locked, actor):
            raise RoleForbidden(
                _("Your role may not run '%(name)s' from '%(state)s'.")
                % {"name": name, "state": locked.state}
            )
        before = _values(locked)
        _stage(locked, name, payload, actor)
        missing = [k for k in REQUIRED_PAYLOAD.get(name, ()) if k not in payload]
        missing += missing_fields(locked, available[name].conditions)
        if missing:
            raise RequirementsMissing(missing)
        from_state = locked.state
        method(actor=actor)
        _save_changes(locked, before)
        event = append_event(
            locked,
            name,
            actor=actor,
            data=payload,
            from_state=from_state,
            to_state=locked.state,
        )
    return locked, event


def _stage(locked: Incident, name: str, payload: dict[str, Any], actor: Any) -> None:
    for key, field in STAGED_FIELDS.get(name, {}).items():
        if key in payload:
            setattr(locked, field, payload[key])
    if name == "refer" and "authority" in payload:
        _new_submitted_referral(locked, payload, actor)


def _new_submitted_referral(incident: Incident, payload: dict[str, Any], actor: Any) -> Referral:
    if "submitted_at" not in payload:
        raise RequirementsMissing(["submitted_at"])
    check_moments(submitted_at=payload["submitted_at"])
    check_not_before("submitted_at", payload["submitted_at"], {"detected_at": incident.detected_at})
    referral = Referral(
        incident=incident,
        created_by=actor,
        **{k: payload[k] for k in REFERRAL_KEYS if k in payload and k != "submitted_at"},
    )
    referral.submit(submitted_at=payload["submitted_at"])
    referral.save()
    return referral


def create_incident(*, actor: Any, data: dict[str, Any]) -> tuple[Incident, Event]:
    """Log a new breach in state ``detected``; the caller becomes its reporter."""
    ensure_may_log(actor)
    data = dict(data)
    now = timezone.now()
    aware_at = data.pop("aware_at", None)
    # Unless given, detection is now, or the moment of awareness if that is earlier: the company
    # cannot have become aware of a breach before it was detected.
    detected_at = data.pop("detected_at", None) or min(aware_at or now, now)
    aware_at = aware_at or detected_at
    check_detection(detected_at, aware_at)
    with transaction.atomic():
        year = timezone.localtime(now).year
        # Taking the log head first serialises reference numbering with every other append.
        lock_log_head()
        last = (
            Incident.objects.filter(ref_year=year)
            .order_by("-ref_number")
            .values_list("ref_number", flat=True)
            .first()
        ) or 0
        incident = Incident(
            ref_year=year,
            ref_number=last + 1,
            reference=f"INC-{year}-{last + 1:04d}",
            reporter=actor,
            detected_at=detected_at,
            aware_at=aware_at,
            **data,
        )
        incident.save()
        obligations = sync_obligations(incident)
        event = append_event(
            incident,
            "created",
            actor=actor,
            data={
                "title": incident.title,
                "severity": incident.severity,
                **({"obligations": obligations} if obligations else {}),
            },
            to_state=incident.state,
        )
    return incident, event


def update_incident(
    incident: Incident,
    *,
    actor: Any,
    changes: dict[str, Any],
    expected_version: int | None = None,
) -> tuple[Incident, Event | None]:
    """Edit fields; records old and new values. No-op edits write nothing."""
    ensure_may_edit(actor)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with _locked(incident, expected_version) as locked:
        if locked.state in TERMINAL_STATES:
            raise EditNotAllowed(locked.state)
        diff = {}
        for field, new in changes.items():
            old = getattr(locked, field)
            if old != new:
                diff[field] = {"from": _plain(old), "to": _plain(new)}
                setattr(locked, field, new)
        if not diff:
            return locked, None
        check_detection(
            locked.detected_at,
            locked.aware_at,
            given=diff,
            first_submitted=locked.referrals.first_submitted() if "detected_at" in diff else None,
        )
        locked.version += 1
        locked.save()
        # Scope, risk and aware_at decide the legal deadlines; the event records how they moved.
        obligations = sync_obligations(locked)
        data = {"changes": diff, **({"obligations": obligations} if obligations else {})}
        event = append_event(locked, "updated", actor=actor, data=data)
    return locked, event


def _plain(value: Any) -> Any:
    if hasattr(value, "username"):
        return value.username
    return value


def may_write_incidents(user: Any) -> bool:
    """Who logs new incidents (``create_incident``)."""
    return has_any_role(user, {ENGINEER, ADMIN})


def may_edit_incidents(user: Any) -> bool:
    """Who edits an incident's fields (``update_incident``); executives only read."""
    return has_any_role(user, WRITER_ROLES)


def commander_candidates() -> Any:
    """Who may command an incident: active engineers and admins (the roles that drive it)."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=ENGINEER))
        .distinct()
    )


def ensure_may_log(actor: Any) -> None:
    """RoleForbidden unless the actor may log incidents (callers may check before parsing)."""
    if not may_write_incidents(actor):
        raise RoleForbidden(_("Only engineers and admins log incidents."))


def ensure_may_edit(actor: Any) -> None:
    """RoleForbidden unless the actor may edit incidents (callers may check before parsing)."""
    if not may_edit_incidents(actor):
        raise RoleForbidden(_("Your role may not edit incidents."))
