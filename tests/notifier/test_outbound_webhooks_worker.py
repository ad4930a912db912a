"""Outbound webhooks through the worker (issue 22 §3): the outbox derives a row per event and
hook, the worker sends it with WebhookTransport, retries and dead-letters it like any other row.

``transactional_db``: the worker may send webhook rows from a thread of its own, whose database
connection sees only committed rows (the transport reads the hook at each send)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from incidents.lifecycle import apply_transition, create_incident
from incidents.models import Event
from notifier.models import WEBHOOK, Delivery, OutboundWebhook
from notifier.webhooks import enqueue_ping, hook_secret, register_webhook
from tests.notifier.webhook_helpers import docs_verify
from tests.notifier.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hooked(tg_settings: Any, receiver: WebhookReceiver) -> OutboundWebhook:
    tg_settings.WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on loopback
    tg_settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    hook, _ = register_webhook(name="receiver", url=receiver.url)
    return hook


def webhook_rows() -> list[Delivery]:
    return list(Delivery.objects.filter(channel=WEBHOOK).order_by("id"))


def all_sent() -> bool:
    rows = webhook_rows()
    return bool(rows) and all(row.status == Delivery.SENT for row in rows)


def test_the_receiver_gets_each_event_exactly_once(
    hooked: OutboundWebhook, users: dict[str, Any], receiver: WebhookReceiver, run_worker: Callable
) -> None:
    incident, _ = create_incident(
        actor=users["engineer"], data={"title": "Dump on a forum", "severity": "critical"}
    )
    run_worker()
    apply_transition(incident, "start_scoping", actor=users["engineer"])
    run_worker()
    run_worker()  # nothing left: a second run sends nothing again

    seqs = list(Event.objects.order_by("seq").values_list("seq", flat=True))
    got = receiver.wait_for(len(seqs))
    assert sorted(json.loads(r.body)["id"] for r in got) == seqs
    assert len({r.delivery for r in got}) == len(got) == len(seqs)
    assert all(docs_verify()(hook_secret(hooked), r.signature, r.body) for r in got)
    assert all_sent()


def test_a_500_is_retried_by_the_worker_and_then_sent_once(
    hooked: OutboundWebhook, users: dict[str, Any], receiver: WebhookReceiver, run_worker: Callable
) -> None:
    receiver.answer(500)
    create_incident(actor=users["engineer"], data={"title": "Leak", "severity": "critical"})
    run_worker(until=all_sent)

    [row] = webhook_rows()
    assert row.status == Delivery.SENT and row.attempts == 2
    assert [r.status for r in receiver.requests] == [500, 200]
    assert {r.delivery for r in receiver.requests} == {str(row.pk)}


def test_a_hanging_receiver_is_timed_out_and_tried_again(
    hooked: OutboundWebhook,
    users: dict[str, Any],
    receiver: WebhookReceiver,
    run_worker: Callable,
    tg_settings: Any,
) -> None:
    tg_settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.answer(("hang", 30))
    create_incident(actor=users["engineer"], data={"title": "Leak", "severity": "critical"})
    run_worker(until=all_sent)

    [row] = webhook_rows()
    assert row.status == Delivery.SENT and row.attempts == 2
    assert [r.status for r in receiver.requests] == [0, 200]


def test_410_leaves_a_dead_letter_and_switches_the_hook_off(
    hooked: OutboundWebhook, users: dict[str, Any], receiver: WebhookReceiver, run_worker: Callable
) -> None:
    receiver.answer(410)
    incident, _ = create_incident(
        actor=users["engineer"], data={"title": "Leak", "severity": "critical"}
    )
    run_worker(until=lambda: any(r.status == Delivery.DEAD for r in webhook_rows()))
    [row] = webhook_rows()
    assert row.status == Delivery.DEAD and "410" in row.last_error
    hooked.refresh_from_db()
    assert not hooked.active

    apply_transition(incident, "start_scoping", actor=users["engineer"])
    run_worker()
    assert len(webhook_rows()) == 1 and len(receiver.requests) == 1


def test_a_redirect_leaves_a_dead_letter_after_one_request(
    hooked: OutboundWebhook, users: dict[str, Any], receiver: WebhookReceiver, run_worker: Callable
) -> None:
    receiver.answer(("redirect", "https://elsewhere.example.com/"))
    create_incident(actor=users["engineer"], data={"title": "Leak", "severity": "critical"})
    run_worker(until=lambda: any(r.status == Delivery.DEAD for r in webhook_rows()))
    [row] = webhook_rows()
    assert row.status == Delivery.DEAD and "302" in row.last_error
    assert len(receiver.requests) == 1


def test_a_ping_is_sent_by_the_worker(
    hooked: OutboundWebhook, receiver: WebhookReceiver, run_worker: Callable
) -> None:
    row = enqueue_ping(hooked)
    run_worker(until=all_sent)
    row.refresh_from_db()
    assert row.status == Delivery.SENT
    [seen] = receiver.wait_for(1)
    assert json.loads(seen.body)["kind"] == "ping" and seen.delivery == str(row.pk)
