"""Outbound webhooks (issue 22): the deliveries an event makes for the registered URLs.

Groundwork only: the outbox calls these; the signing, the body and the filters land with the
outbound-webhooks work."""

from __future__ import annotations

from incidents.models import Event
from notifier.models import Delivery, OutboundWebhook


def active_webhooks() -> list[OutboundWebhook]:
    return list(OutboundWebhook.objects.filter(active=True))


def webhook_deliveries(event: Event, hooks: list[OutboundWebhook]) -> list[Delivery]:
    return []
