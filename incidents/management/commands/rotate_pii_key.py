"""Move the affected-people register to the current PII_ENCRYPTION_KEY after a rotation.

A rotation: make a new key, set it as PII_ENCRYPTION_KEY and put the old one in
PII_ENCRYPTION_KEY_FALLBACKS, restart every process, then run this command. It opens each
person's sealed details (any configured key does), seals them again with the current key and
recomputes the look-up hashes, which are keyed with the current key only: until it has run,
duplicate checks and "am I affected?" do not find people sealed under the old key. Once it has
run, remove the old key from the fallbacks. Idempotent; one incident's register per transaction,
under that incident's lock, so imports and notices meanwhile are safe.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core import pii
from incidents.affected.contacts import customer_hash, email_hash, mobile_hash
from incidents.changing import changing
from incidents.models import AffectedPerson

logger = logging.getLogger(__name__)
FIELDS = ["sealed", "customer_hash", "email_hash", "mobile_hash"]


class Command(BaseCommand):
    help = "Re-seal the affected-people register with the current PII_ENCRYPTION_KEY."

    def handle(self, *args: Any, **options: Any) -> None:
        incidents = (
            AffectedPerson.objects.present().values_list("incident_id", flat=True).distinct()
        )
        total = 0
        for incident_id in sorted(set(incidents)):
            total += _rotate(incident_id)
        logger.info("register re-sealed with the current key: %d people", total)
        self.stdout.write(f"{total} people re-sealed with the current key.")


def _rotate(incident_id: int) -> int:
    with changing(incident_id):
        people = list(AffectedPerson.objects.present().filter(incident_id=incident_id))
        for person in people:
            try:
                fields = pii.unseal(person.sealed)
            except pii.Unreadable:
                raise CommandError(
                    f"affected person {person.pk} (incident {incident_id}): no configured key "
                    "opens it; put the key it was sealed with in PII_ENCRYPTION_KEY_FALLBACKS"
                ) from None
            person.sealed = pii.seal(fields)
            person.customer_hash = customer_hash(fields.get("customer_id", ""))
            person.email_hash = email_hash(fields.get("email") or "")
            person.mobile_hash = mobile_hash(fields.get("mobile") or "")
        AffectedPerson.objects.bulk_update(people, FIELDS, batch_size=500)
    return len(people)
