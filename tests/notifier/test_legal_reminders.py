"""Legal-deadline reminders go through the same outbox, to legal, once per stage."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from core.formats import digits
from core.models import Profile
from incidents.legal.obligations import seed_rules
from notifier.models import Delivery
from notifier.reminders import enqueue_reminders


def test_due_reminder_reaches_legal_once(users, linked, incident_in, run_worker, fake_telegram):
    seed_rules()
    now = timezone.now()
    incident = incident_in("restoring", aware_at=now, detected_at=now)
    assert enqueue_reminders(now - dt.timedelta(minutes=1)) == 0
    assert enqueue_reminders(now + dt.timedelta(minutes=1)) >= 1
    assert enqueue_reminders(now + dt.timedelta(minutes=1)) == 0  # each stage once
    reminders = Delivery.objects.filter(kind="reminder")
    assert set(reminders.values_list("chat_id", flat=True)) == {1002}
    assert all(d.event_id is None and d.incident_id == incident.pk for d in reminders)
    run_worker()
    sent = [c for c in fake_telegram.sent() if "Legal deadline" in c.params["text"]]
    assert sent and all(incident.reference in c.params["text"] for c in sent)
    assert {int(c.params["chat_id"]) for c in sent} == {1002}
    assert set(reminders.values_list("status", flat=True)) == {"sent"}


def test_reminder_due_time_in_persian_is_jalali(
    users, linked, incident_in, run_worker, fake_telegram
):
    seed_rules()
    profile = Profile.for_user(users["legal"])
    profile.language, profile.time_zone = "fa", "Asia/Tehran"
    profile.save()
    now = timezone.now()
    incident_in("restoring", aware_at=now, detected_at=now)
    enqueue_reminders(now + dt.timedelta(minutes=1))
    text = Delivery.objects.filter(kind="reminder").first().text
    assert "مهلت قانونی" in text
    jalali_years = {digits(f"{now.year - n}/", language="fa") for n in (621, 622)}
    assert any(year in text for year in jalali_years)  # Jalali, in Persian digits
