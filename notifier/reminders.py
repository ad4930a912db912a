"""Legal-deadline reminders (issue 6) into the same outbox as alerts: deliveries without an event.

``incidents`` decides which (obligation, stage) pairs are due and records each as handed over
(``mark_reminded``); this module writes the deliveries in that same transaction, so a reminder is
either recorded and queued, or neither.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.db import DatabaseError, transaction
from django.utils import timezone

from core.models import Profile
from core.roles import LEGAL, roles_of
from incidents.legal.obligations import mark_reminded, reminder_facts, reminders_due
from incidents.models import Incident, Obligation, sees
from notifier.messages import alert_buttons, reminder_text
from notifier.models import BOT_CHANNELS
from notifier.outbox import enqueue, personal_key
from notifier.recipients import Route, personal_routes, reach

log = logging.getLogger(__name__)


def enqueue_reminders(now: dt.datetime | None = None) -> int:
    """Queue every due reminder for legal users on every chat channel they linked; returns how
    many deliveries."""
    now = now or timezone.now()
    pairs = reminders_due(now)
    if not pairs:
        return 0
    found = reach(email=False)
    lawyers = [user for user in found.people.values() if LEGAL in roles_of(user)]
    queued = 0
    for obligation, stage in pairs:
        with transaction.atomic():
            if not mark_reminded(obligation, stage):
                continue  # another worker took it
            audience = obligation.incident.audience()  # need to know: members only, if restricted
            for user in lawyers:
                if not sees(roles_of(user), user.pk, audience):
                    continue
                routes = personal_routes(user, found, channels=BOT_CHANNELS, now=now)
                for route, not_before in routes:
                    queued += _enqueue_one(
                        obligation, stage, route, found.profile(user), not_before
                    )
    if queued:
        log.info("queued %d legal-deadline reminders", queued)
    return queued


def _enqueue_one(
    obligation: Obligation,
    stage: str,
    route: Route,
    profile: Profile,
    not_before: dt.datetime | None,
) -> bool:
    """Call inside the transaction of ``mark_reminded``; True if a reminder was queued."""

    def text_of(language: str, time_zone: str) -> str:
        facts = reminder_facts(obligation, stage)
        return reminder_text(language=language, facts=facts, time_zone=time_zone)

    key = personal_key(f"obligation:{obligation.pk}:{stage}:{route.chat_id}", route.channel)
    return enqueue_reminder(
        kind="reminder",
        key=key,
        route=route,
        profile=profile,
        incident=obligation.incident,
        text_of=text_of,
        not_before=not_before,
    )


def enqueue_reminder(
    *,
    kind: str,
    key: str,
    route: Route,
    profile: Profile,
    incident: Incident,
    text_of: Callable[[str, str], str],
    not_before: dt.datetime | None = None,
) -> bool:
    """Queue one reminder (a legal deadline's, a status update's) on one chat, in the
    recipient's language and time zone, with the page's button; ``text_of(language,
    time_zone)`` writes it. Not filtered by severity; in the person's quiet hours it waits
    until ``not_before``. Call inside the transaction that records the reminder as handed over;
    True if it was queued. One that cannot be built is recorded dead instead, so later scans do
    not fail on it again forever."""
    try:
        language = profile.effective_language()
        text = text_of(language, profile.effective_time_zone())
        buttons = alert_buttons(language=language, reference=incident.reference, acknowledge=False)
    except DatabaseError:
        raise  # the transaction is broken: let the worker roll back and reconnect
    except Exception as exc:
        log.exception("%s %s could not be built; dead-lettered", kind, key)
        enqueue(kind=kind, key=key, route=route, error=exc, incident=incident)
        return False
    created = enqueue(
        kind=kind,
        key=key,
        route=route,
        text=text,
        incident=incident,
        reply_markup=buttons,
        not_before=not_before,
    )
    return created is not None
