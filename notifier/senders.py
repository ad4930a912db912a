"""Which senders a worker runs (issue 22): one ``worker.Sender`` per bot channel, each with its
channel's own rate limits, and one thread per synchronous channel (email alerts, webhooks).

The bot channels come from ``notifier.channels.bot_channels()`` and their transports from
``notifier.transports.botapi.transport_for``. A bot channel without a token is left out, and
its rows wait queued, except Telegram, which keeps its log-only mode for local development.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from notifier.channels import bot_channels
from notifier.models import EMAIL, TELEGRAM, WEBHOOK
from notifier.notice_sending import ChannelSender
from notifier.outbox import Outgoing
from notifier.transports.botapi import transport_for
from notifier.transports.email import email_configured
from notifier.transports.email_alerts import EmailAlertTransport
from notifier.transports.webhook import WebhookTransport

log = logging.getLogger(__name__)
SYNC_IN_FLIGHT = 20  # email alerts or webhook calls claimed and not yet answered, per channel


def bot_transports(given: dict[str, Any]) -> dict[str, Any]:
    """The bot channels this deployment has, each with its transport (telegram first): the
    ``given`` ones, and the defaults of the others."""
    return {
        channel.name: given.get(channel.name) or transport_for(channel)
        for channel in bot_channels()
        if channel.name in given or channel.configured or channel.name == TELEGRAM
    }


def sync_transports(given: dict[str, Any]) -> dict[str, Any]:
    """Email alerts (when on and mail is configured) and webhooks, unless ``given``; a channel
    left out keeps its rows queued."""
    transports: dict[str, Any] = dict(given)
    if EMAIL not in given and settings.EMAIL_ALERTS and email_configured():
        transports[EMAIL] = EmailAlertTransport()
    if WEBHOOK not in given:
        transports[WEBHOOK] = WebhookTransport()
    return transports


class SyncSender:
    """A synchronous channel's thread (``ChannelSender``), its capacity and lease. Before a
    batch is handed over, the transport's ``prepare(batch)`` (if it has one) reads on the
    caller's thread what it needs from the database: the ORM stays on the main thread."""

    def __init__(self, channel: str, transport: Any) -> None:
        self.channel = channel
        self.transport = transport
        self.capacity = SYNC_IN_FLIGHT
        timeout = settings.EMAIL_TIMEOUT if channel == EMAIL else settings.WEBHOOK_TIMEOUT_SECONDS
        # A claim outlives a whole batch sent one after the other at the transport's timeout.
        self.lease = settings.NOTIFIER_LEASE_SECONDS + self.capacity * float(timeout or 30.0)
        self.thread = ChannelSender(transport)

    def submit_all(self, batch: list[Outgoing]) -> list[Any]:
        prepare = getattr(self.transport, "prepare", None)
        if prepare is not None:
            prepare(batch)
        return [self.thread.submit(out) for out in batch]  # type: ignore[arg-type]

    def stop(self) -> None:
        self.thread.stop()
