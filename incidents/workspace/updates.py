"""Stakeholder status updates on a cadence (issue 20, section 2).

The commander (or any engineer, legal, an admin) posts what we know, the impact, what we are
doing and when the next update comes. Each update is a StatusUpdate row and one
``status_update`` event, and it sets ``Incident.next_update_at``: the time given, else now plus
the severity's cadence (UpdateCadence, admin-edited). The same due time is kept current when the
incident is logged, when its severity changes and when it closes, is dismissed or reopens, so the
dashboard and the reminders find overdue incidents by one indexed column.

Reminders: ``updates_due`` lists the open incidents whose due time has passed and that were not
yet reminded for it; ``mark_update_reminded`` records one (unique per incident and due time) in
the transaction that queues the notifier's deliveries (notifier/update_reminders.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Substr
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.roles import WRITER_ROLES, has_any_role
from incidents.changing import changing
from incidents.choices import TERMINAL_STATES, State
from incidents.errors import InvalidChange, RoleForbidden
from incidents.events import append_event
from incidents.labels import label
from incidents.models import Event, Incident, StatusUpdate, UpdateCadence, UpdateReminder

STATUS_UPDATE = "status_update"
BODY_MAX_LENGTH = StatusUpdate._meta.get_field("body").max_length
# A promise further out than this is a typing error (a year for a month), not a plan.
LONGEST_PROMISE = dt.timedelta(days=30)
# The transitions that move the due time: a closed or dismissed incident owes no update; a
# reopened one owes the next at its cadence from the reopening.
ENDS = frozenset({"close", "dismiss"})
REOPEN = "reopen"


class UpdatesClosed(DomainError):
    """A closed or dismissed incident takes no status updates (409)."""

    status = 409

    def __init__(self, state: str) -> None:
        message = _("A %(state)s incident takes no status updates; reopen it first.")
        super().__init__(message % {"state": label(State, state).lower()}, state=state)


def may_post_updates(user: Any) -> bool:
    """Engineers, legal and admins; a commander is always one of them (``commander_candidates``).
    Executives read updates and follow incidents, but do not post."""
    return has_any_role(user, WRITER_ROLES)


def ensure_may_post_updates(actor: Any) -> None:
    """RoleForbidden unless the actor may post updates (callers may check before parsing)."""
    if not may_post_updates(actor):
        raise RoleForbidden(_("Your role may read status updates but not post them."))


def cadence_of(severity: str) -> dt.timedelta | None:
    """Time between updates at ``severity``; None when it has no cadence (one query)."""
    minutes = (
        UpdateCadence.objects.filter(severity=severity).values_list("minutes", flat=True).first()
    )
    return dt.timedelta(minutes=minutes) if minutes else None


def due_after(severity: str, since: dt.datetime) -> dt.datetime | None:
    """When the next update is owed if the last one (or the logging) was at ``since``."""
    cadence = cadence_of(severity)
    return since + cadence if cadence else None


def check_promise(moment: dt.datetime | None, now: dt.datetime) -> None:
    """InvalidChange unless ``moment`` (the next update by) is None or in the next 30 days."""
    if moment is None:
        return
    if moment <= now:
        raise InvalidChange({"next_update_at": [_("The next update must be due in the future.")]})
    if moment > now + LONGEST_PROMISE:
        message = _("The next update must be due within %(days)d days.")
        raise InvalidChange({"next_update_at": [message % {"days": LONGEST_PROMISE.days}]})


def clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise InvalidChange({"body": [_("A status update needs some text.")]})
    if len(body) > BODY_MAX_LENGTH:
        message = _("A status update holds at most %(max)d characters.")
        raise InvalidChange({"body": [message % {"max": BODY_MAX_LENGTH}]})
    return body


def post_update(
    incident: Incident | str,
    *,
    actor: Any,
    body: str,
    next_update_at: dt.datetime | None = None,
) -> tuple[StatusUpdate, Event]:
    """Post one status update and owe the next by ``next_update_at`` (default: the severity's
    cadence from now). Like a note it leaves the incident's version alone, so an update never
    makes someone's edit stale. Refused on closed and dismissed incidents (409)."""
    ensure_may_post_updates(actor)
    body = clean_body(body)
    check_promise(next_update_at, timezone.now())
    with changing(incident) as locked:
        if locked.state in TERMINAL_STATES:
            raise UpdatesClosed(locked.state)
        now = timezone.now()
        due = next_update_at or due_after(locked.severity, now)
        update = StatusUpdate.objects.create(
            incident=locked, author=actor, body=body, next_update_at=due
        )
        locked.next_update_at = due
        locked.save(update_fields=["next_update_at"])
        data = {"update": update.pk, "body": body, "next_update_at": due}
        event = append_event(locked, STATUS_UPDATE, actor=actor, data=data)
    return update, event


def rescheduled(incident: Incident) -> dt.datetime | None:
    """The due time after a severity change, for ``update_incident`` (call under the lock): the
    new cadence counted from the last update (or the logging), brought forward only. A raised
    severity makes the next update due sooner, even at once; a lowered one keeps the time
    already owed, so stakeholders never wait longer than they were told. No cadence at the
    new severity: only what the last update promised stands."""
    last = incident.status_updates.order_by("-created_at", "-id").first()
    since = last.created_at if last else incident.created_at
    candidate = due_after(incident.severity, since)
    if candidate is None:
        return last.next_update_at if last else None
    current = incident.next_update_at
    return min(current, candidate) if current else candidate


def on_transition(incident: Incident, name: str) -> None:
    """Keep the due time with the lifecycle (the lifecycle's ``prepare``, under the lock): none
    once closed or dismissed; a reopened incident owes its next update a cadence from now."""
    if name in ENDS:
        incident.next_update_at = None
    elif name == REOPEN:
        incident.next_update_at = due_after(incident.severity, timezone.now())


def template_body() -> str:
    """The pre-filled body in the active language: what we know, impact, what we are doing,
    next update by (incidents/status_update_template.txt)."""
    return render_to_string("incidents/status_update_template.txt").strip() + "\n"


# --- reads ---------------------------------------------------------------------------------


def updates_of(incident: Incident) -> QuerySet[StatusUpdate]:
    """The incident's updates, newest first, with their authors."""
    return incident.status_updates.select_related("author").order_by("-created_at", "-id")


def latest_update(incident: Incident) -> StatusUpdate | None:
    """The newest update: from ``with_latest_update``'s prefetch when the caller made one,
    else one query."""
    cached = getattr(incident, "latest_updates", None)
    if cached is not None:
        return cached[0] if cached else None
    return updates_of(incident).first()


def latest_update_prefetch() -> Any:
    """A Prefetch of each incident's newest update (``latest_updates``, a list of at most one):
    one query for a whole page of incidents (Django runs a sliced prefetch as a window)."""
    newest = StatusUpdate.objects.select_related("author").order_by("-created_at", "-id")
    return Prefetch("status_updates", queryset=newest[:1], to_attr="latest_updates")


def with_latest_update(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    """``incidents`` annotated with their newest update's opening (``latest_update_start``, its
    first 500 characters) and time (``latest_update_at``): subqueries of the same query, so a
    list costs the same whatever its length."""
    newest = StatusUpdate.objects.filter(incident=OuterRef("pk")).order_by("-created_at", "-id")
    start = newest.annotate(start=Substr("body", 1, 500)).values("start")
    return incidents.annotate(
        latest_update_start=Subquery(start[:1]),
        latest_update_at=Subquery(newest.values("created_at")[:1]),
    )


def is_overdue(incident: Incident, now: dt.datetime) -> bool:
    return (
        incident.state not in TERMINAL_STATES
        and incident.next_update_at is not None
        and incident.next_update_at < now
    )


# --- reminders -----------------------------------------------------------------------------


def updates_due(now: dt.datetime) -> list[Incident]:
    """Open incidents whose next update is due by ``now`` and whose commander was not yet
    reminded of that due time, with their commanders."""
    reminded = UpdateReminder.objects.filter(
        incident=OuterRef("pk"), due_at=OuterRef("next_update_at")
    )
    due = Incident.objects.open().filter(next_update_at__lte=now).exclude(Exists(reminded))
    return list(due.select_related("commander").order_by("next_update_at", "id"))


def mark_update_reminded(incident: Incident, due_at: dt.datetime) -> bool:
    """Record that the reminder for ``due_at`` was handed to the notifier. Call inside the
    transaction that writes its deliveries; False when another worker recorded it first (the
    caller then writes nothing)."""
    with transaction.atomic():
        _reminder, created = UpdateReminder.objects.get_or_create(incident=incident, due_at=due_at)
    return created


def update_reminder_facts(incident: Incident) -> dict[str, Any]:
    """What a reminder may say: reference, severity, state and the due time. Never the body of
    an update nor anything about customers."""
    return {
        "reference": incident.reference,
        "severity": incident.severity,
        "state": incident.state,
        "due_at": incident.next_update_at,
    }
