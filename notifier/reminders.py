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
from notifier.models import ChatLink
from notifier.outbox import enqueue
from notifier.recipients import active_links

log = logging.getLogger(__name__)


def enqueue_reminders(now: dt.datetime | None = None) -> int:
    """Queue every due reminder for linked legal users; returns how many deliveries."""
    pairs = reminders_due(now or timezone.now())
    if not pairs:
        return 0
    links = [link for link in active_links() if LEGAL in roles_of(link.user)]
    profiles = {p.user_id: p for p in Profile.objects.filter(user__in=[lk.user_id for lk in links])}
    queued = 0
    for obligation, stage in pairs:
        with transaction.atomic():
            if not mark_reminded(obligation, stage):
                continue  # another worker took it
            audience = obligation.incident.audience()  # need to know: members only, if restricted
            for link in links:
                if not sees(roles_of(link.user), link.user_id, audience):
                    continue
                profile = profiles.get(link.user_id) or Profile(user=link.user)
                queued += _enqueue_one(obligation, stage, link, profile)
    if queued:
        log.info("queued %d legal-deadline reminders", queued)
    return queued


def _enqueue_one(obligation: Obligation, stage: str, link: ChatLink, profile: Profile) -> bool:
    """Call inside the transaction of ``mark_reminded``; True if a reminder was queued."""

    def text_of(language: str, time_zone: str) -> str:
        facts = reminder_facts(obligation, stage)
        return reminder_text(language=language, facts=facts, time_zone=time_zone)

    key = f"obligation:{obligation.pk}:{stage}:{link.chat_id}"
    return enqueue_reminder(
        kind="reminder",
        key=key,
        link=link,
        profile=profile,
        incident=obligation.incident,
        text_of=text_of,
    )


def enqueue_reminder(
    *,
    kind: str,
    key: str,
    link: ChatLink,
    profile: Profile,
    incident: Incident,
    text_of: Callable[[str, str], str],
) -> bool:
    """Queue one reminder (a legal deadline's, a status update's) in the recipient's language
    and time zone, with the page's button; ``text_of(language, time_zone)`` writes it. Call
    inside the transaction that records the reminder as handed over; True if it was queued.
    One that cannot be built is recorded dead instead, so later scans do not fail on it again
    forever."""
    try:
        language = profile.effective_language()
        text = text_of(language, profile.effective_time_zone())
        buttons = alert_buttons(language=language, reference=incident.reference, acknowledge=False)
    except DatabaseError:
        raise  # the transaction is broken: let the worker roll back and reconnect
    except Exception as exc:
        log.exception("%s %s could not be built; dead-lettered", kind, key)
        enqueue(kind=kind, key=key, link=link, error=exc, incident=incident)
        return False
    created = enqueue(
        kind=kind, key=key, link=link, text=text, incident=incident, reply_markup=buttons
    )
    return created is not None
