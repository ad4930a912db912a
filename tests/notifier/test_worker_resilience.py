"""One item the worker cannot build or send is dead-lettered; the worker and the others go on.

The API refuses moments such as year 1, so the impossible deadlines here are written straight
into the rows, the way old data or a bug elsewhere would leave them.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from core.models import Profile
from incidents.legal.obligations import seed_rules
from incidents.lifecycle import create_incident
from incidents.models import LogHead, Obligation
from notifier import messages
from notifier import worker as worker_module
from notifier.models import Cursor, Delivery
from notifier.ratelimit import RateLimiter
from notifier.reminders import enqueue_reminders
from tests.notifier.test_worker_process import logged_worker, wait_for

YEAR_ONE = dt.datetime(1, 1, 2, tzinfo=dt.UTC)  # aware on 0001-01-01, due 24 hours later


def persian_legal(users: dict[str, Any]) -> None:
    profile = Profile.for_user(users["legal"])
    profile.language, profile.time_zone = "fa", "Asia/Tehran"
    profile.save()


def incident_due_in_year_one(incident_in: Any) -> Any:
    seed_rules()
    now = dt.datetime.now(dt.UTC)
    incident = incident_in("restoring", aware_at=now, detected_at=now)
    assert Obligation.objects.filter(incident=incident).update(due_at=YEAR_ONE)
    return incident


def reminders_to_legal(fake_telegram: Any) -> list[Any]:
    return [c for c in fake_telegram.sent() if int(c.params["chat_id"]) == 1002]


def test_reminder_due_in_year_one_reaches_legal_with_a_gregorian_date(
    users, linked, incident_in, run_worker, fake_telegram
):
    persian_legal(users)
    incident = incident_due_in_year_one(incident_in)
    run_worker()
    sent = reminders_to_legal(fake_telegram)
    # before the Jalali calendar: Gregorian, in the reader's Persian digits
    assert sent and all("۰۰۰۱-۰۱-۰۲ ۰۳:۲۵" in c.params["text"] for c in sent)
    assert all(incident.reference in c.params["text"] for c in sent)
    assert not Delivery.objects.exclude(status=Delivery.SENT).exists()


@pytest.mark.django_db(transaction=True)
def test_worker_process_survives_a_deadline_in_year_one(
    users, linked, incident_in, fake_telegram, tg_settings
):
    persian_legal(users)
    incident_due_in_year_one(incident_in)
    with logged_worker(fake_telegram) as (worker, lines):
        assert wait_for(lambda: reminders_to_legal(fake_telegram), 30), lines
        later, _ = create_incident(actor=users["admin"], data={"title": "t", "severity": "low"})
        assert wait_for(
            lambda: any(later.reference in c.params["text"] for c in fake_telegram.sent()), 15
        ), lines
        assert worker.poll() is None, lines  # still running: `make run` keeps the app up


def test_reminder_that_cannot_be_built_is_dead_and_the_others_go_out(
    users, linked, incident_in, run_worker, fake_telegram, monkeypatch, caplog
):
    seed_rules()
    now = dt.datetime.now(dt.UTC)
    bad = incident_in("restoring", aware_at=now, detected_at=now)
    good = incident_in("restoring", aware_at=now, detected_at=now)
    real = messages.reminder_text

    def reminder_text(**kw: Any) -> str:
        if kw["facts"]["reference"] == bad.reference:
            raise RuntimeError("cannot render this one")
        return real(**kw)

    monkeypatch.setattr("notifier.reminders.reminder_text", reminder_text)
    with caplog.at_level(logging.ERROR, logger="notifier.reminders"):
        run_worker()
    dead = Delivery.objects.filter(kind="reminder", incident=bad)
    assert dead.exists() and set(dead.values_list("status", flat=True)) == {Delivery.DEAD}
    assert all("cannot render this one" in d.last_error for d in dead)
    assert all(d.key in caplog.text for d in dead)
    good_rows = Delivery.objects.filter(kind="reminder", incident=good)
    assert good_rows.exists() and set(good_rows.values_list("status", flat=True)) == {"sent"}
    assert all(good.reference in c.params["text"] for c in reminders_to_legal(fake_telegram))
    # handed over once: later scans neither retry it nor fail on it again
    assert enqueue_reminders() == 0
    assert Delivery.objects.filter(kind="reminder", incident=bad).count() == dead.count()


def test_alert_that_cannot_be_built_is_dead_and_later_alerts_go_out(
    users, linked, run_worker, fake_telegram, monkeypatch, caplog
):
    real = messages.alert_text

    def alert_text(**kw: Any) -> str:
        if kw["reference"] == bad.reference:
            raise RuntimeError("cannot render this one")
        return real(**kw)

    monkeypatch.setattr("notifier.event_rows.alert_text", alert_text)
    bad, _ = create_incident(actor=users["admin"], data={"title": "bad", "severity": "low"})
    good, _ = create_incident(actor=users["admin"], data={"title": "good", "severity": "low"})
    with caplog.at_level(logging.ERROR, logger="notifier.outbox"):
        run_worker()
    dead = Delivery.objects.filter(incident=bad)
    assert dead.count() == 2 and set(dead.values_list("status", flat=True)) == {Delivery.DEAD}
    assert all("cannot render this one" in d.last_error and d.key in caplog.text for d in dead)
    assert set(Delivery.objects.filter(incident=good).values_list("status", flat=True)) == {"sent"}
    assert Cursor.objects.get(name="events").seq == LogHead.objects.latest_seq()
    assert not any(bad.reference in c.params["text"] for c in fake_telegram.attempts())


def test_worker_goes_on_after_an_unexpected_error_in_a_cycle(
    users, linked, run_worker, fake_telegram, monkeypatch, caplog
):
    from notifier import worker

    real, failures = worker.claim_due, []

    def claim_due(*args: Any, **kw: Any) -> Any:
        if not failures:
            failures.append(1)
            raise RuntimeError("a bug in one cycle")
        return real(*args, **kw)

    monkeypatch.setattr(worker, "claim_due", claim_due)
    monkeypatch.setattr(worker, "ERROR_PAUSE_SECONDS", 0.05)
    create_incident(actor=users["admin"], data={"title": "t", "severity": "low"})
    with caplog.at_level(logging.ERROR, logger="notifier.worker"):
        run_worker()  # one run: the failing cycle, a pause, then the sends
    assert failures and "a bug in one cycle" in caplog.text
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}


def test_send_that_fails_outside_the_transport_is_retried_then_dead(
    users, linked, run_worker, fake_telegram, monkeypatch
):
    real = RateLimiter.wait

    async def wait(self: RateLimiter, chat_id: int) -> None:
        if chat_id == 1001:
            raise RuntimeError("limiter broke for this chat")
        await real(self, chat_id)

    monkeypatch.setattr(RateLimiter, "wait", wait)
    create_incident(actor=users["admin"], data={"title": "t", "severity": "low"})
    run_worker(until=lambda: Delivery.objects.get(chat_id=1001).status == "dead", max_seconds=8)
    broken = Delivery.objects.get(chat_id=1001)
    assert broken.status == "dead" and "limiter broke" in broken.last_error
    assert Delivery.objects.get(chat_id=1006).status == "sent"


def test_reminder_scan_that_fails_does_not_hold_back_alerts(
    users, linked, incident_in, run_worker, fake_telegram, caplog, monkeypatch
):
    incident = incident_in("detected")

    def failing_scan() -> None:
        raise OverflowError("date value out of range")  # a bug in the domain's scan

    monkeypatch.setattr(worker_module, "enqueue_reminders", failing_scan)
    with caplog.at_level(logging.ERROR, logger="notifier.worker"):
        run_worker()
    assert "reminder scan failed" in caplog.text
    assert Delivery.objects.filter(incident=incident).exists()
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
