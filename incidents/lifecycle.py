"""The domain functions: every change of an incident goes through here (STYLE.md rule 4).

Views, admin actions, Telegram buttons and management commands all call these; each runs in
one transaction that locks the incident, changes it and appends exactly one event.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.roles import ADMIN, ENGINEER, WRITER_ROLES, has_any_role
from incidents.affected.decision import scope_changed
from incidents.changing import changing, save_changes, snapshot
from incidents.choices import TERMINAL_STATES, Authority
from incidents.errors import EditNotAllowed, RoleForbidden
from incidents.events import append_event, lock_log_head
from incidents.legal.obligations import sync_obligations
from incidents.legal.referrals import REFERRAL_KEYS, file_submitted_referral
from incidents.machines import (
    CHOICE,
    MOMENT,
    REMARK,
    Key,
    Machine,
    Option,
    Step,
    options,
    ready_names,
)
from incidents.models import FACTS, SCOPE, Event, Incident, Referral
from incidents.moments import check_detection
from incidents.workspace import updates as status_updates
from incidents.workspace.tasks import open_required, runbook_on_transition, runbook_on_vector_change


def _prepare(incident: Incident, record: Incident, name: str, payload: dict, actor: Any) -> None:
    if name == "refer" and "authority" in payload:
        file_submitted_referral(incident, payload, actor)
    # Closed or dismissed owes no status update; reopened owes one at its cadence.
    status_updates.on_transition(record, name)


# The incident's lifecycle (DESIGN.md). Sources, targets, guards and roles are on the model's
# django-fsm decorators (incidents/models/incident.py); payloads are here.
INCIDENT = Machine(
    model=Incident,
    steps=(
        Step("start_scoping", ("note",)),
        Step("start_restoration", ("note",)),
        Step("mark_restored", ("restoration_summary", "note")),
        Step("refer", (*REFERRAL_KEYS, "note")),
        Step("close", ("reason", "note")),
        Step("dismiss", ("reason", "note"), requires=("reason",)),
        Step("reopen", ("reason", "note"), requires=("reason",)),
    ),
    keys=(
        REMARK,
        Key.text_of(Incident, "no_referral_reason", "reason"),
        Key.text_of(Incident, "restoration_summary"),
        Key("authority", CHOICE, choices=Authority),
        Key.text_of(Referral, "authority_name"),
        Key("submitted_at", MOMENT),
        Key.text_of(Referral, "case_number"),
        Key.text_of(Referral, "contact"),
        Key.text_of(Referral, "notes"),
    ),
    stages={"restoration_summary": "restoration_summary", "reason": "no_referral_reason"},
    prepare=_prepare,
    call_args=lambda incident, name, actor, payload: {"actor": actor},
    # Entering scoping (also by reopening) or restoring adds that phase's runbook tasks.
    after=lambda incident, record, name, actor: runbook_on_transition(record),
    explain=lambda record, missing: {"tasks": open_required(record)} if "tasks" in missing else {},
)
TRANSITIONS = INCIDENT.names
# ``high_risk`` is not edited: it follows the notification decision (incidents/affected/).
EDITABLE_FIELDS = (*FACTS, *SCOPE, "restoration_summary")


# The lifecycle's entry point: (incident or reference, name, *, actor, payload, expected_version).
apply_transition = INCIDENT.run


def transition_options(incident: Incident, user: Any) -> list[Option]:
    return options(INCIDENT, incident, user)


def ready_transitions(incident: Incident, user: Any) -> list[str]:
    return ready_names(INCIDENT, incident, user)


def create_incident(
    *, actor: Any, data: dict[str, Any], source: dict[str, Any] | None = None
) -> tuple[Incident, Event]:
    """Log a new breach in state ``detected``; the caller becomes its reporter. ``source``:
    what logged it when not a person (a monitoring integration's alert), kept in the event."""
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
        # The first status update is owed a cadence after the logging (issue 20).
        incident.next_update_at = status_updates.due_after(incident.severity, now)
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
                **({"source": source} if source else {}),
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
    with changing(incident, expected_version=expected_version) as locked:
        if locked.state in TERMINAL_STATES:
            raise EditNotAllowed(locked.state)
        before = snapshot(locked)
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
        if "severity" in diff:  # another cadence: the next status update may be due sooner
            locked.next_update_at = status_updates.rescheduled(locked)
        save_changes(locked, before)
        data = {"changes": diff, **_knock_on(locked, diff)}
        event = append_event(locked, "updated", actor=actor, data=data)
    return locked, event


def _knock_on(incident: Incident, diff: dict[str, Any]) -> dict[str, Any]:
    """What an edit moved besides its fields, for its event. Precondition: inside the edit's
    ``changing``, the fields saved."""
    data: dict[str, Any] = {}
    # Scope, risk and aware_at decide the legal deadlines; the event records how they moved.
    obligations = sync_obligations(incident)
    if obligations:
        data["obligations"] = obligations
    # A scope that now holds more risk than legal decided on makes the decision stale.
    if diff.keys() & set(SCOPE):
        data.update(scope_changed(incident))
    # Another attack vector, another runbook: its tasks come with the edit, in its event.
    if "attack_vector" in diff:
        data.update(runbook_on_vector_change(incident, diff["attack_vector"]["from"]))
    return data


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
        # An integration's service account logs incidents but commands none.
        .filter(integration__isnull=True)
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
