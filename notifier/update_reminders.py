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

from django.db import transaction
from django.utils import timezone

from core.models import Profile
from core.roles import ADMIN, roles_of
from incidents.models import Incident, sees
from incidents.workspace.updates import mark_update_reminded, update_reminder_facts, updates_due
from notifier.models import ChatLink
from notifier.recipients import active_links
from notifier.reminders import enqueue_reminder
from notifier.status_updates import reminder_text

log = logging.getLogger(__name__)
REMINDER = "update_reminder"


def reminded_links(incident: Incident, links: list[ChatLink]) -> list[ChatLink]:
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
            # Email joins here with the channels issue (22): one more delivery per person,
            # under the same UpdateReminder, so a due time is still reminded once per channel.
    if queued:
        log.info("queued %d status-update reminders", queued)
    return queued


def _enqueue_one(incident: Incident, link: ChatLink, profile: Profile) -> bool:
    """Call inside the transaction of ``mark_update_reminded``; True if a reminder was queued."""
    facts = update_reminder_facts(incident)
    # The due time to the microsecond: two due times of one incident may share a second.
    key = f"{REMINDER}:{incident.pk}:{facts['due_at'].isoformat()}:{link.chat_id}"
    return enqueue_reminder(
        kind=REMINDER,
        key=key,
        link=link,
        profile=profile,
        incident=incident,
        text_of=lambda language, zone: reminder_text(
            language=language, time_zone=zone, facts=facts
        ),
    )
