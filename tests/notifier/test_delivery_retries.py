"""What the worker does with each kind of Telegram failure."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from incidents.lifecycle import create_incident
from notifier.models import ChatLink, Delivery, LinkAudit
from notifier.outbox import backoff_seconds, derive_deliveries


def only_delivery() -> Delivery:
    return Delivery.objects.get(chat_id=1001)


def test_429_waits_retry_after_then_delivers(users, linked, run_worker, fake_telegram):
    fake_telegram.script_chat(1001, ("429", 1))
    create_incident(actor=users["admin"], data={"title": "t", "severity": "low"})
    before = timezone.now()
    run_worker()
    d = only_delivery()
    assert d.status == "failed" and "retry" in d.last_error.lower()
    assert d.next_attempt_at >= before + dt.timedelta(seconds=1)
    run_worker(until=lambda: only_delivery().status == "sent", max_seconds=5)
    attempts = [c for c in fake_telegram.attempts() if int(c.params["chat_id"]) == 1001]
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 0.95


def test_server_error_and_timeout_back_off_then_deliver(users, linked, run_worker, fake_telegram):
    fake_telegram.script_chat(1001, "500", ("hang", 3.0))
    create_incident(actor=users["admin"], data={"title": "t", "severity": "low"})
    before = timezone.now()
    run_worker()
    d = only_delivery()
    # Backed off by at least half the first delay (TELEGRAM_RETRY_BASE_SECONDS, 50 ms here)
    # after the failure, which came after ``before``. (Against the clock after the worker ran,
    # the 25-50 ms could already have passed on a loaded machine.)
    assert d.status == "failed" and d.attempts == 1
    assert d.next_attempt_at >= before + dt.timedelta(seconds=0.025)
    run_worker(until=lambda: only_delivery().status == "sent", max_seconds=8)
    d = only_delivery()
    assert d.status == "sent" and d.attempts == 3
    assert [c.status for c in fake_telegram.attempts() if int(c.params["chat_id"]) == 1001][
        -1
    ] == 200


def test_backoff_grows_exponentially_with_bounded_jitter(settings):
    settings.TELEGRAM_RETRY_BASE_SECONDS = 2.0
    settings.TELEGRAM_RETRY_MAX_SECONDS = 60.0
    for attempts, ceiling in [(1, 2), (2, 4), (3, 8), (4, 16), (10, 60)]:
        delays = {backoff_seconds(attempts) for _ in range(50)}
        assert all(ceiling / 2 <= x <= ceiling for x in delays)
        assert len(delays) > 1  # jittered, so workers retrying together spread out


def test_delivery_is_dead_after_max_attempts(users, linked, run_worker, fake_telegram, settings):
    settings.TELEGRAM_MAX_ATTEMPTS = 3
    fake_telegram.script_chat(1001, "500", "500", "500", "500")
    create_incident(actor=users["admin"], data={"title": "t", "severity": "low"})
    run_worker(until=lambda: only_delivery().status == "dead", max_seconds=5)
    d = only_delivery()
    assert d.status == "dead" and d.attempts == 3
    assert Delivery.objects.dead().count() == 1
    assert ChatLink.objects.get(chat_id=1001).active  # a flaky server is not the chat's fault


def test_blocked_bot_deactivates_link_and_kills_delivery(users, linked, run_worker, fake_telegram):
    fake_telegram.script_chat(1001, "403")
    create_incident(actor=users["admin"], data={"title": "t", "severity": "low"})
    create_incident(actor=users["admin"], data={"title": "u", "severity": "low"})
    run_worker()
    link = ChatLink.objects.get(chat_id=1001)
    assert not link.active and "blocked" in link.deactivated_reason
    assert set(Delivery.objects.filter(chat_id=1001).values_list("status", flat=True)) == {"dead"}
    assert len(fake_telegram.attempts()) == 3  # 1001 once (refused), 1006 twice; no retry
    assert LinkAudit.objects.filter(user=users["engineer"], action="deactivated").exists()
    create_incident(actor=users["admin"], data={"title": "v", "severity": "low"})
    derive_deliveries()
    assert not Delivery.objects.filter(chat_id=1001, status="pending").exists()


def test_chat_not_found_is_permanent(users, linked, run_worker, fake_telegram):
    fake_telegram.script_chat(1001, "400")
    create_incident(actor=users["admin"], data={"title": "t", "severity": "low"})
    run_worker()
    assert only_delivery().status == "dead"
    assert not ChatLink.objects.get(chat_id=1001).active


def test_log_only_mode_without_token(users, linked, tg_settings, fake_telegram, caplog):
    from notifier.worker import Worker

    tg_settings.TELEGRAM_BOT_TOKEN = ""
    create_incident(actor=users["admin"], data={"title": "t", "severity": "low"})
    with caplog.at_level("WARNING"):
        Worker().run(until_idle=True, max_seconds=5)
    assert "log-only" in caplog.text
    assert fake_telegram.attempts() == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_late_failure_never_overwrites_a_send_by_another_worker(users, linked):
    from notifier.outbox import claim_due, record_failure, record_sent

    create_incident(actor=users["admin"], data={"title": "t", "severity": "low"})
    derive_deliveries()
    first = next(o for o in claim_due(10, busy_chats=set(), lease_seconds=60) if o.chat_id == 1001)
    Delivery.objects.filter(id=first.id).update(claimed_until=timezone.now())  # lease expired
    second = next(o for o in claim_due(10, busy_chats=set(), lease_seconds=60) if o.chat_id == 1001)
    record_sent(second, 99)
    record_failure(first, "timed out", permanent=False)  # the first worker's late answer
    d = only_delivery()
    assert (d.status, d.telegram_message_id) == ("sent", 99)
