"""Status updates reach the commander and the incident's followers over Telegram, scrubbed of
personal data; reminders of a due update go out through the same outbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.models import Profile
from incidents.workspace.updates import post_update
from notifier.models import Delivery
from notifier.outbox import derive_deliveries
from notifier.subscriptions import follow
from notifier.update_reminders import enqueue_update_reminders
from tests.notifier.conftest import fake_telegram as fake_telegram
from tests.notifier.conftest import linked as linked
from tests.notifier.conftest import run_worker as run_worker
from tests.notifier.conftest import tg_settings as tg_settings


def quiet_incident(incident_in: Any) -> Any:
    """An incident being scoped by the engineer (chat 1001), its own alerts already sent."""
    incident = incident_in("scoping", severity="high")
    derive_deliveries()
    Delivery.objects.all().delete()
    return incident


def texts_by_chat(fake: Any) -> dict[int, str]:
    return {int(c.params["chat_id"]): c.params["text"] for c in fake.sent()}


def test_followers_and_the_commander_receive_the_update(
    users, linked, incident_in, run_worker, fake_telegram
):
    incident = quiet_incident(incident_in)
    follow(users["executive"], incident)
    post_update(incident, actor=users["legal"], body="What we know: the bucket is closed.")
    run_worker()
    texts = texts_by_chat(fake_telegram)
    assert set(texts) == {1001, 1003}  # commander, follower; not the author, not the rest
    assert all("the bucket is closed" in t and incident.reference in t for t in texts.values())
    assert all("Status update" in t for t in texts.values())


def test_the_author_does_not_hear_their_own_update(
    users, linked, incident_in, run_worker, fake_telegram
):
    incident = quiet_incident(incident_in)
    post_update(incident, actor=users["engineer"], body="Contained.")
    run_worker()
    assert fake_telegram.sent() == []


def test_an_update_with_personal_data_sends_only_a_pointer_to_the_page(
    users, linked, incident_in, run_worker, fake_telegram
):
    incident = quiet_incident(incident_in)
    follow(users["executive"], incident)
    body = "Customer ali@example.com called from ۰۹۱۲ ۳۴۵ ۶۷ ۸۹ about the card."
    post_update(incident, actor=users["legal"], body=body)
    run_worker()
    text = texts_by_chat(fake_telegram)[1003]
    assert "ali@" not in text and "۶۷" not in text and "card" not in text
    assert "open the incident's page to read it" in text
    assert f"/incidents/{incident.reference}/" in text


def test_the_update_speaks_the_followers_language(
    users, linked, incident_in, run_worker, fake_telegram
):
    incident = quiet_incident(incident_in)
    Profile.objects.update_or_create(user=users["executive"], defaults={"language": "fa"})
    follow(users["executive"], incident)
    post_update(incident, actor=users["legal"], body="همه چیز تحت کنترل است.")
    run_worker()
    text = texts_by_chat(fake_telegram)[1003]
    assert "همه چیز تحت کنترل است." in text
    assert "زیاد" in text and "۱۴۰" in text  # the severity's Persian name, a Jalali due time


def test_unfollowed_readers_hear_nothing(users, linked, incident_in, run_worker, fake_telegram):
    incident = quiet_incident(incident_in)
    post_update(incident, actor=users["engineer2"], body="Routine.")
    run_worker()
    assert set(texts_by_chat(fake_telegram)) == {1001}  # the commander only


def test_the_due_reminder_reaches_the_commanders_chat(
    users, linked, incident_in, run_worker, fake_telegram
):
    incident = quiet_incident(incident_in)
    assert enqueue_update_reminders(incident.next_update_at + dt.timedelta(minutes=1)) == 1
    run_worker()
    text = texts_by_chat(fake_telegram)[1001]
    assert "Status update due" in text and incident.reference in text
    assert incident.title not in text  # reference, severity, state, time and link: no more
