"""Alerts by email to responders (issue 22), through Django's email framework: the outbox's
email rows (subject and plain text written by ``notifier.outbox``) to the user's account
address, read when the row is handed to the sending thread (``prepare``, on the worker's main
thread, where the ORM lives), so an address changed since the alert was queued is the one used.

SMTP's answers become TransportErrors as for notices (``transports/email.py``): a refused
recipient (5xx) or a message refused for good is permanent, a 4xx or a dropped connection is
tried again. A refusal never deactivates anything: email has no chat to lose. One connection is
kept open between sends and reopened after any failure.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import get_connection

from core.models import Profile
from notifier.outbox import Outgoing
from notifier.transports.base import OutgoingNotice
from notifier.transports.email import EmailTransport
from notifier.transports.errors import TransportError

log = logging.getLogger(__name__)


class EmailAlertTransport:
    channel = "email"

    def __init__(self, connection: Any = None) -> None:
        self.mail = EmailTransport(connection or get_connection(), what="alerts")
        self._to: dict[int, tuple[str, str]] = {}  # delivery id -> (address, language)
        self._lock = threading.Lock()

    def prepare(self, batch: list[Outgoing]) -> None:
        """Read the recipients' addresses and languages for a claimed batch (one query each);
        call on the thread that owns the ORM, before the rows are submitted."""
        ids = {out.user_id for out in batch if out.user_id is not None}
        users = get_user_model().objects.filter(pk__in=ids, is_active=True).exclude(email="")
        emails = dict(users.values_list("pk", "email"))
        languages = {
            p.user_id: p.effective_language() for p in Profile.objects.filter(user_id__in=emails)
        }
        with self._lock:
            for out in batch:
                if out.user_id in emails:
                    language = languages.get(out.user_id) or settings.LANGUAGE_CODE
                    self._to[out.id] = (emails[out.user_id], language)

    def send(self, out: Outgoing) -> None:
        """Send one alert email, or raise TransportError (no address any more: permanent)."""
        with self._lock:
            to = self._to.pop(out.id, None)
        if to is None:
            raise TransportError(
                "the recipient has no active account with an email", permanent=True
            )
        address, language = to
        self.mail.send(
            OutgoingNotice(
                id=out.id,
                channel=self.channel,
                claim_token=out.claim_token,
                attempts=out.attempts,
                language=language,
                digest="",
                to=address,
                subject=out.subject,
                text=out.text,
                html="",
            )
        )

    def close(self) -> None:
        self.mail.close()
