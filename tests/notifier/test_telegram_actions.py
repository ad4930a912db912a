"""Logging and driving incidents from Telegram: `/new` and the one-tap transition buttons go
through the same domain functions, role checks and guards as the web and the API."""

from __future__ import annotations

from typing import Any

from core.models import Profile
from incidents.lifecycle import update_incident
from incidents.models import Event, Incident
from notifier.models import Delivery
from notifier.outbox import derive_deliveries
from tests.conftest import SCOPE, complete_required_tasks
from tests.notifier.fake_botapi import FakeBotAPI
from tests.notifier.test_polling_bot import poll_for_a_second
from tests.notifier.test_webhook_and_commands import _ids, post

TITLE = "Admin panel reachable without a password"


def message(text: str, chat: int, chat_type: str = "private") -> dict[str, Any]:
    """A text message from ``chat``'s user, as Telegram delivers it."""
    return {
        "message_id": 1,
        "date": 0,
        "text": text,
        "chat": {"id": chat, "type": chat_type},
        "from": {"id": chat, "is_bot": False, "first_name": "x"},
    }


def send(text: str, chat: int, chat_type: str = "private") -> dict[str, Any]:
    response = post({"update_id": next(_ids), "message": message(text, chat, chat_type)})
    assert response.status_code == 200
    return response.json()


def press(data: str, chat: int) -> dict[str, Any]:
    query = {"id": "cb", "data": data, "chat_instance": "1", "from": {"id": chat, "is_bot": False}}
    response = post({"update_id": next(_ids), "callback_query": query})
    assert response.status_code == 200
    return response.json()


def callbacks(markup: dict[str, Any] | None) -> list[str]:
    rows = (markup or {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row if "callback_data" in button]


def test_new_logs_an_incident_through_the_domain_and_offers_the_next_step(
    users, linked, tg_settings
):
    reply = send(f"/new high {TITLE}", 1001)
    incident = Incident.objects.get()
    assert (incident.title, incident.severity, incident.state) == (TITLE, "high", "detected")
    assert incident.reporter == users["engineer"]
    created = Event.objects.get(incident=incident)
    assert (created.kind, created.actor_username) == ("created", "engineer")
    assert reply["text"] == f"Logged {incident.reference} (High)."
    assert TITLE not in str(reply)  # Telegram keeps chats: the reply does not repeat the title
    assert callbacks(reply["reply_markup"]) == [f"run:start_scoping:{incident.reference}"]


def test_new_takes_a_persian_severity_and_answers_in_persian(users, linked, tg_settings):
    profile = Profile.for_user(users["engineer"])
    profile.language = "fa"
    profile.save()
    reply = send("/new\nبحرانی\n نشت   پشتیبان سفارش‌ها", 1001)  # any whitespace between words
    incident = Incident.objects.get()
    assert (incident.severity, incident.title) == ("critical", "نشت پشتیبان سفارش‌ها")
    assert reply["text"] == f"{incident.reference} (بحرانی) ثبت شد."


def test_new_refusals_write_nothing(users, linked, tg_settings):
    cases = [
        ("/new high " + TITLE, 1003, "Only engineers and admins log"),  # the domain's refusal
        ("/new high " + TITLE, 1005, "Only engineers and admins log"),
        ("/new urgent " + TITLE, 1001, "To log a breach"),
        ("/new high", 1001, "To log a breach"),
        ("/new", 1001, "To log a breach"),
        ("/new high " + "x" * 201, 1001, "at most 200 characters"),
        ("/new high " + TITLE, 999_999, "not linked"),
    ]
    for text, chat, words in cases:
        assert words in send(text, chat)["text"], text
    assert "private chat" in send("/new high " + TITLE, 1001, chat_type="group")["text"]
    assert not Incident.objects.exists() and not Event.objects.exists()


def test_a_step_button_runs_the_transition_as_the_person_who_pressed_it(
    users, linked, incident_in, tg_settings
):
    incident = incident_in("detected")
    answer = press(f"run:start_scoping:{incident.reference}", 1006)
    assert answer["method"] == "answerCallbackQuery" and answer["show_alert"] is False
    assert answer["text"] == f"Scoping started · {incident.reference}"
    incident.refresh_from_db()
    assert incident.state == "scoping" and incident.commander == users["engineer2"]
    step = Event.objects.get(incident=incident, kind="start_scoping")
    assert step.actor_username == "engineer2"


def test_a_step_button_is_refused_by_the_same_rules_as_the_api(linked, incident_in, tg_settings):
    incident = incident_in("detected")
    ref = incident.reference
    refusals = [
        (f"run:start_scoping:{ref}", 1003, "Your role may not run 'start_scoping'"),  # executive
        (f"run:close:{ref}", 1002, "'close' is not allowed from state 'detected'"),
        (f"run:dismiss:{ref}", 1001, "Required information is missing: reason"),
        (f"run:teleport:{ref}", 1001, "Commands:"),
        ("run:start_scoping", 1001, "No such incident"),
        ("run:start_scoping:INC-1999-0001", 1001, "No such incident"),
        (f"run:start_scoping:{ref}", 999_999, "not linked"),
    ]
    for data, chat, words in refusals:
        answer = press(data, chat)
        assert answer["show_alert"] is True and words in answer["text"], (data, answer)
    events = Event.objects.filter(incident=incident).count()
    assert press(f"run:start_scoping:{ref}", 1001)["show_alert"] is False
    stale = press(f"run:start_scoping:{ref}", 1006)  # a second tap, or a second engineer
    assert stale["show_alert"] is True and "not allowed from state 'scoping'" in stale["text"]
    assert Event.objects.filter(incident=incident).count() == events + 1


def test_alerts_offer_each_recipient_the_steps_they_may_take_now(users, linked, tg_settings):
    # Logged by the admin, so others hear of it (nobody hears of their own change); critical,
    # so executives too.
    send(f"/new critical {TITLE}", 1004)
    ref = Incident.objects.get().reference
    derive_deliveries()
    created = {d.chat_id: callbacks(d.reply_markup) for d in Delivery.objects.all()}
    assert created[1001] == [f"ack:{ref}", f"run:start_scoping:{ref}"]  # an engineer
    assert created[1003] == [f"ack:{ref}"]  # an executive only reads


def test_an_alert_offers_no_step_once_the_incident_moved_on(users, linked, tg_settings):
    send(f"/new critical {TITLE}", 1004)
    incident = Incident.objects.get()
    ref = incident.reference
    send(f"/follow {ref}", 1001)
    press(f"run:start_scoping:{ref}", 1006)
    update_incident(incident, actor=users["engineer2"], changes=SCOPE)
    complete_required_tasks(incident, users["engineer2"])  # the runbook's gate
    derive_deliveries()
    mine = {d.kind: callbacks(d.reply_markup) for d in Delivery.objects.filter(chat_id=1001)}
    assert mine["created"] == [f"ack:{ref}"]  # the incident is no longer "detected"
    # The newest alert offers the next step, now that the scope and the tasks are done.
    assert mine["start_scoping"] == [f"ack:{ref}", f"run:start_restoration:{ref}"]


def test_polling_sends_the_step_buttons_too(linked, fake_telegram: FakeBotAPI, tg_settings):
    fake_telegram.updates = [{"update_id": 900, "message": message(f"/new low {TITLE}", 1001)}]
    poll_for_a_second(fake_telegram)
    incident = Incident.objects.get()
    [sent] = fake_telegram.attempts("sendMessage")
    assert callbacks(sent.params["reply_markup"]) == [f"run:start_scoping:{incident.reference}"]
