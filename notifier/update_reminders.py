"""Reminders that a status update is due (issue 20, section 2), into the same outbox as alerts:
deliveries without an event, like the legal-deadline reminders of ``notifier.reminders``.

``incidents.workspace.updates`` lists the open incidents whose next update fell due and records
each due time as reminded (``mark_update_reminded``, unique per incident and due time); this
module writes the deliveries in that same transaction, so a reminder is either recorded and
queued, or neither. The commander hears it, or admins when the incident has no commander.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.models import Profile
from core.roles import ADMIN, roles_of
from incidents.models import Incident, sees
from incidents.workspace.updates import mark_update_reminded, update_reminder_facts, updates_due
from notifier.models import BOT_CHANNELS
from notifier.outbox import personal_key
from notifier.recipients import Route, personal_routes, reach
from notifier.reminders import enqueue_reminder
from notifier.status_updates import reminder_text

log = logging.getLogger(__name__)
REMINDER = "update_reminder"


def reminded_people(incident: Incident, people: list[Any]) -> list[Any]:
    """Who is reminded: the commander, or admins when the incident has none; only people who
    may still read it (need to know)."""
    audience = incident.audience()
    if incident.commander_id is not None:
        wanted = [user for user in people if user.pk == incident.commander_id]
    else:
        wanted = [user for user in people if ADMIN in roles_of(user)]
    return [user for user in wanted if sees(roles_of(user), user.pk, audience)]


def enqueue_update_reminders(now: dt.datetime | None = None) -> int:
    """Queue a reminder for every status update that fell due, on every chat channel the person
    linked; returns how many deliveries. Each due time is reminded once, whether or not anyone
    is linked to hear it."""
    now = now or timezone.now()
    due = updates_due(now)
    if not due:
        return 0
    found = reach(email=False)
    people = list(found.people.values())
    queued = 0
    for incident in due:
        with transaction.atomic():
            if not mark_update_reminded(incident, incident.next_update_at):
                continue  # another worker took it
            for user in reminded_people(incident, people):
                routes = personal_routes(user, found, channels=BOT_CHANNELS, now=now)
                for route, not_before in routes:
                    queued += _enqueue_one(incident, route, found.profile(user), not_before)
    if queued:
        log.info("queued %d status-update reminders", queued)
    return queued


def _enqueue_one(
    incident: Incident, route: Route, profile: Profile, not_before: dt.datetime | None
) -> bool:
    """Call inside the transaction of ``mark_update_reminded``; True if a reminder was queued."""
    facts = update_reminder_facts(incident)
    # The due time to the microsecond: two due times of one incident may share a second.
    key = f"{REMINDER}:{incident.pk}:{facts['due_at'].isoformat()}:{route.chat_id}"
    return enqueue_reminder(
        kind=REMINDER,
        key=personal_key(key, route.channel),
        route=route,
        profile=profile,
        incident=incident,
        text_of=lambda language, zone: reminder_text(
            language=language, time_zone=zone, facts=facts
        ),
        not_before=not_before,
    )
