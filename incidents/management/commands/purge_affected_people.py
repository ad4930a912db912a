"""Delete the affected people's contact data once the retention period is over (issue 18):
``AFFECTED_PEOPLE_RETENTION_DAYS`` after their incident was closed or dismissed.

Run it daily (cron, a systemd timer, a compose one-shot). It is idempotent: a register already
purged has nothing left to purge and gets no second event; an incident reopened meanwhile is
left alone. Each incident purged gets one ``register.purged`` event with the number of people
(their rows stay, without contact data, so the counts remain).

What "deleted" means on disk: on SQLite the freed space is zeroed (``secure_delete``) and the
write-ahead log truncated afterwards, so the sealed tokens are gone from the files. PostgreSQL
keeps the old row versions until VACUUM reclaims them (autovacuum does, soon after a large
update; ``VACUUM`` the table to be sure), and write-ahead-log archives and backups keep them as
long as those are kept: size their retention to match.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from incidents.affected.register import due_for_purge, purge_register
from incidents.models import AffectedPerson

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Delete affected people's contact data of incidents past the retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be purged; change nothing."
        )

    def handle(self, *args: Any, dry_run: bool = False, **options: Any) -> None:
        now = timezone.now()
        due = list(due_for_purge(now).order_by("id"))
        if dry_run:
            counts = dict(
                AffectedPerson.objects.present()
                .filter(incident__in=due)
                .values_list("incident")
                .annotate(n=Count("id"))
            )
            for incident in due:
                self.stdout.write(
                    f"{incident.reference}: {counts.get(incident.pk, 0)} would be purged"
                )
            self.stdout.write(f"dry run: {sum(counts.values())} people in {len(due)} incidents")
            return
        total = 0
        for incident in due:
            purged = purge_register(incident, now=now)
            total += purged
            self.stdout.write(f"{incident.reference}: {purged} purged")
        if total and connection.vendor == "sqlite" and not connection.in_atomic_block:
            # The old pages stay in the write-ahead log until it is checkpointed and truncated.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy, _frames, _done = cursor.fetchone()
            if busy:
                logger.warning("purge_affected_people: the SQLite log is in use; not truncated")
        logger.info("purge_affected_people: %d people in %d incidents", total, len(due))
        self.stdout.write(f"{total} people purged in {len(due)} incidents")
