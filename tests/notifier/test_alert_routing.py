"""Who gets which alert, in which language, exactly once on the normal path."""

from __future__ import annotations

from typing import Any

from core.models import Profile
from incidents.lifecycle import apply_transition, create_incident
from notifier.models import AlertPreference, Delivery, Subscription
from notifier.outbox import derive_deliveries
from tests.conftest import finish_review


def chats_of(fake: Any) -> list[int]:
    return sorted(int(c.params["chat_id"]) for c in fake.sent())


def test_new_incident_alerts_linked_engineers_only(users, linked, run_worker, fake_telegram):
    create_incident(actor=users["engineer"], data={"title": "DB dump", "severity": "high"})
    run_worker()
    # the reporter (engineer, 1001) is not told about their own report; legal/exec/norole are not
    assert chats_of(fake_telegram) == [1006]


def test_engineer_severity_threshold_filters_new_incident_alerts(
    users, linked, run_worker, fake_telegram
):
    AlertPreference.objects.create(
        user=linked["engineer2"].user, channel="telegram", min_severity="critical"
    )
    create_incident(actor=users["admin"], data={"title": "Minor", "severity": "medium"})
    run_worker()
    assert chats_of(fake_telegram) == [1001]


def test_critical_new_incident_also_alerts_executives(users, linked, run_worker, fake_telegram):
    create_incident(actor=users["admin"], data={"title": "Big one", "severity": "critical"})
    run_worker()
    assert chats_of(fake_telegram) == [1001, 1003, 1006]


def test_transition_alerts_commander_and_subscribers(
    users, linked, incident_in, run_worker, fake_telegram
):
    incident = incident_in("detected")
    Subscription.objects.create(user=users["engineer2"], incident=incident)
    derive_deliveries()
    Delivery.objects.all().delete()  # only the transition's alerts matter here
    apply_transition(incident, "start_scoping", actor=users["admin"])  # admin becomes commander
    run_worker()
    assert chats_of(fake_telegram) == [1006]  # admin acted, so only the subscriber hears
    fake_telegram.calls.clear()
    incident.refresh_from_db()
    apply_transition(incident, "dismiss", actor=users["engineer"], payload={"reason": "test"})
    run_worker()
    assert chats_of(fake_telegram) == [1004, 1006]  # commander (admin) and subscriber


def test_refer_and_close_alert_legal(users, linked, incident_in, run_worker, fake_telegram):
    incident = incident_in("restored")
    finish_review(incident, users["engineer"])
    derive_deliveries()
    Delivery.objects.all().delete()
    apply_transition(incident, "close", actor=users["admin"], payload={"reason": "no referral"})
    run_worker()
    # commander is the engineer who started scoping; legal hears about closing
    assert chats_of(fake_telegram) == [1001, 1002]


def test_every_transition_reaches_the_commander(
    users, linked, incident_in, run_worker, fake_telegram
):
    incident_in("closed")  # engineer is commander; legal refers and closes
    run_worker()
    kinds_to_commander = [
        Delivery.objects.get(key=f"event:{d.event.seq}:1001").kind
        for d in Delivery.objects.filter(chat_id=1001)
        .select_related("event")
        .order_by("event__seq")
    ]
    # the engineer's own actions are not echoed back; legal's are
    assert kinds_to_commander == ["refer", "close"]
    assert len(fake_telegram.sent(1001)) == 2


def test_message_uses_recipient_language(users, linked, run_worker, fake_telegram):
    profile = Profile.for_user(users["engineer2"])
    profile.language = "en"
    profile.save()
    profile = Profile.for_user(users["engineer"])
    profile.language = "fa"
    profile.save()
    create_incident(actor=users["admin"], data={"title": "t", "severity": "low"})
    run_worker()
    texts = {int(c.params["chat_id"]): c.params["text"] for c in fake_telegram.sent()}
    assert "New incident" in texts[1006]
    assert "رخداد تازه" in texts[1001]


def test_no_duplicate_alert_when_derived_and_run_twice(users, linked, run_worker, fake_telegram):
    create_incident(actor=users["admin"], data={"title": "once", "severity": "low"})
    derive_deliveries()
    derive_deliveries()
    run_worker()
    run_worker()
    assert chats_of(fake_telegram) == [1001, 1006]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    assert all(d.telegram_message_id for d in Delivery.objects.all())


def test_alert_carries_acknowledge_and_open_buttons(users, linked, run_worker, fake_telegram):
    incident, _ = create_incident(actor=users["admin"], data={"title": "b", "severity": "low"})
    run_worker()
    markup = fake_telegram.sent(1001)[0].params["reply_markup"]
    row = markup["inline_keyboard"][0]
    assert row[0]["callback_data"] == f"ack:{incident.reference}"
    assert row[1]["url"] == f"https://desk.example.com/incidents/{incident.reference}/"


def test_unlinked_and_inactive_users_get_nothing(users, linked, run_worker, fake_telegram):
    linked["engineer2"].active = False
    linked["engineer2"].save()
    create_incident(actor=users["admin"], data={"title": "x", "severity": "low"})
    run_worker()
    assert chats_of(fake_telegram) == [1001]


def test_severity_raised_to_critical_alerts_commander_and_executives(
    users, linked, incident_in, run_worker, fake_telegram
):
    from incidents.lifecycle import update_incident

    incident = incident_in("scoping")  # engineer is commander
    run_worker()
    fake_telegram.calls.clear()
    update_incident(incident, actor=users["admin"], changes={"summary": "more detail"})
    run_worker()
    assert chats_of(fake_telegram) == []  # ordinary edits are not alerts
    update_incident(incident, actor=users["admin"], changes={"severity": "critical"})
    run_worker()
    assert chats_of(fake_telegram) == [1001, 1003]
    assert "Severity changed" in fake_telegram.sent(1003)[0].params["text"]
