"""Acknowledging an alert and recording an escalation: domain functions like lifecycle.py's.

Both lock the incident, then append one event in the same transaction (STYLE.md rule 4). The
notifier calls these (a Telegram button, /ack, its escalation scan); it never writes events itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from core.roles import WRITER_ROLES, has_any_role
from incidents.changing import changing
from incidents.choices import OPEN_STATES, Severity
from incidents.errors import DomainError, RoleForbidden
from incidents.events import append_event
from incidents.models import Event, Incident

ACKNOWLEDGED = "acknowledged"
ESCALATED = "escalated"


class NotOpen(DomainError):
    status = 409

    def __init__(self, state: str) -> None:
        message = _("A %(state)s incident has nothing left to acknowledge or escalate.")
        super().__init__(message % {"state": state})
        self.state = state


def may_acknowledge(user: Any) -> bool:
    """Roles that act on incidents; executives only read (DESIGN.md)."""
    return has_any_role(user, WRITER_ROLES)


def ensure_may_acknowledge(actor: Any) -> None:
    """RoleForbidden unless the actor may acknowledge (callers may check before anything else)."""
    if not may_acknowledge(actor):
        raise RoleForbidden(_("Your role may not acknowledge incidents."))


def acknowledged_by(incident: Incident) -> list[str]:
    """Who has acknowledged, first to last."""
    events = Event.objects.filter(incident=incident, kind=ACKNOWLEDGED).order_by("seq")
    return list(events.values_list("actor_username", flat=True))


def acknowledge_offered(incident: Incident, user: Any, acknowledgers: list[str]) -> bool:
    """Whether ``acknowledge(incident, user)`` would record something now, so a page may offer
    it: the role may, the incident is open, and this person is not yet among ``acknowledgers``
    (``acknowledged_by(incident)``)."""
    return (
        may_acknowledge(user)
        and incident.state in OPEN_STATES
        and user.get_username() not in acknowledgers
    )


def is_acknowledged(incident: Incident) -> bool:
    return Event.objects.filter(incident=incident, kind=ACKNOWLEDGED).exists()


def acknowledge(incident: Incident, actor: Any) -> tuple[Incident, Event | None]:
    """Record that ``actor`` has seen the alert and is on it; stops escalation.

    A second acknowledgement by the same person writes nothing (a double tap on the button)."""
    ensure_may_acknowledge(actor)
    with changing(incident) as locked:
        if locked.state not in OPEN_STATES:
            raise NotOpen(locked.state)
        if Event.objects.filter(incident=locked, kind=ACKNOWLEDGED, actor=actor).exists():
            return locked, None
        event = append_event(locked, ACKNOWLEDGED, actor=actor, data={})
    return locked, event


def record_escalation(
    incident: Incident,
    level: int,
    *,
    severities: Iterable[str] = (Severity.CRITICAL,),
    notify: Iterable[int] = (),
    target: str = "",
    chain: int | None = None,
) -> tuple[Incident, Event | None]:
    """Record escalation ``level`` of an unacknowledged incident of one of ``severities``, at
    most once per level. ``notify`` are the ids of the people this level calls (the notifier
    routes the event to them), ``target`` says who they are, ``chain`` the escalation chain.

    Returns no event when the level was already recorded, someone acknowledged meanwhile, or the
    incident is no longer open or of those severities: the scan that calls this reads without a
    lock."""
    with changing(incident) as locked:
        if locked.state not in OPEN_STATES or locked.severity not in set(severities):
            return locked, None
        events = Event.objects.filter(incident=locked)
        if events.filter(kind=ACKNOWLEDGED).exists():
            return locked, None
        if events.filter(kind=ESCALATED, data__level=level).exists():
            return locked, None
        data = {"level": level, "notify": sorted(set(notify)), "target": target, "chain": chain}
        event = append_event(locked, ESCALATED, actor=None, data=data)
    return locked, event
