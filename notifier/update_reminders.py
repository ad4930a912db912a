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

from django.db import DatabaseError, transaction
from django.utils import timezone

from core.models import Profile
from core.roles import ADMIN, roles_of
from incidents.models import Incident, sees
from incidents.workspace.updates import mark_update_reminded, update_reminder_facts, updates_due
from notifier.messages import alert_buttons
from notifier.models import TelegramLink
from notifier.outbox import enqueue
from notifier.recipients import active_links
from notifier.status_updates import reminder_text

log = logging.getLogger(__name__)
REMINDER = "update_reminder"


def reminded_links(incident: Incident, links: list[TelegramLink]) -> list[TelegramLink]:
    """Who is reminded: the commander, or admins when the incident has none; only people who
    may still read it (need to know)."""
    audience = incident.audience()
    if incident.commander_id is not None:
        wanted = [lk for lk in links if lk.user_id == incident.commander_id]
    else:
        wanted = [lk for lk in links if ADMIN in roles_of(lk.user)]
    return [lk for lk in wanted if sees(roles_of(lk.user), lk.user_id, audience)]


def enqueue_update_reminders(now: dt.datetime | None = None) -> int:
    """Queue a reminder for every status update that fell due; returns how many deliveries.
    Each due time is reminded once, whether or not anyone is linked to hear it."""
    due = updates_due(now or timezone.now())
    if not due:
        return 0
    links = active_links()
    profiles = {p.user_id: p for p in Profile.objects.filter(user__in=[lk.user_id for lk in links])}
    queued = 0
    for incident in due:
        with transaction.atomic():
            if not mark_update_reminded(incident, incident.next_update_at):
                continue  # another worker took it
            for link in reminded_links(incident, links):
                profile = profiles.get(link.user_id) or Profile(user=link.user)
                queued += _enqueue_one(incident, link, profile)
            # Email joins here once the notification issue lands: one more delivery per person,
            # under the same UpdateReminder, so a due time is still reminded once per channel.
    if queued:
        log.info("queued %d status-update reminders", queued)
    return queued


def _enqueue_one(incident: Incident, link: TelegramLink, profile: Profile) -> bool:
    """Call inside the transaction of ``mark_update_reminded``; True if a reminder was queued.
    One that cannot be built is recorded dead, so later scans do not fail on it forever."""
    facts = update_reminder_facts(incident)
    # The due time to the microsecond: two due times of one incident may share a second.
    key = f"{REMINDER}:{incident.pk}:{facts['due_at'].isoformat()}:{link.chat_id}"
    try:
        language = profile.effective_language()
        text = reminder_text(
            language=language, time_zone=profile.effective_time_zone(), facts=facts
        )
        buttons = alert_buttons(language=language, reference=incident.reference, acknowledge=False)
    except DatabaseError:
        raise  # the transaction is broken: let the worker roll back and reconnect
    except Exception as exc:
        log.exception("status-update reminder %s could not be built; dead-lettered", key)
        enqueue(kind=REMINDER, key=key, link=link, error=exc, incident=incident)
        return False
    created = enqueue(
        kind=REMINDER, key=key, link=link, text=text, incident=incident, reply_markup=buttons
    )
    return created is not None
