"""Helpers of the outbound webhooks' tests: outbox rows as the worker's ``Outgoing``, the docs'
verification snippets, the rows the outbox makes for events, an incident to make them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from incidents.lifecycle import create_incident
from incidents.models import Event
from notifier import outbox
from notifier.models import WEBHOOK, Delivery, OutboundWebhook
from notifier.webhooks import active_webhooks, register_webhook, webhook_deliveries

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def outgoing(row: Delivery) -> outbox.Outgoing:
    """The row as the worker hands it to the transport once claimed."""
    return outbox.Outgoing(
        id=row.pk,
        channel=row.channel,
        claim_token="test",
        attempts=row.attempts,
        chat_id=row.chat_id,
        user_id=row.user_id,
        webhook_id=row.webhook_id,
        subject=row.subject,
        text=row.text,
        reply_markup=row.reply_markup,
    )


def docs_block(language: str) -> str:
    found = re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    assert found, f"docs/webhooks.md has no {language} block"
    return found[-1]


def docs_verify() -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(docs_block("python"), str(DOCS), "exec"), namespace)
    return namespace["verify"]


def rows_for(events: list[Event], hooks: list[OutboundWebhook] | None = None) -> list[Delivery]:
    """What the outbox does in its transaction: the hooks' rows for these events, saved."""
    hooks = active_webhooks() if hooks is None else hooks
    rows = [row for event in events for row in webhook_deliveries(event, hooks)]
    Delivery.objects.bulk_create(rows)
    return list(Delivery.objects.filter(channel=WEBHOOK).order_by("id"))


def critical_incident(users: dict[str, Any], title: str = "Database dump on a forum") -> Any:
    incident, _ = create_incident(
        actor=users["engineer"], data={"title": title, "severity": "critical"}
    )
    return incident


def one_row(users: dict[str, Any], url: str) -> Delivery:
    register_webhook(name="r", url=url)
    critical_incident(users)
    [row] = rows_for(list(Event.objects.all()))
    return row
