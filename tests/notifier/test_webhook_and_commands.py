"""Updates by webhook: secret checked, repeats ignored; Acknowledge and commands from Telegram."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from core.models import Profile
from incidents.models import Event
from notifier.models import BotUpdate, Subscription

SECRET = "s3cret-webhook-value"
_ids = iter(range(10_000, 10**6))


def post(body: Any, secret: str | None = SECRET) -> Any:
    headers = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret} if secret is not None else {}
    raw = body if isinstance(body, str) else json.dumps(body)
    return Client().post("/telegram/webhook/", raw, content_type="application/json", **headers)


def press_ack(reference: str, account_id: int, update_id: int | None = None) -> Any:
    return post(
        {
            "update_id": update_id or next(_ids),
            "callback_query": {
                "id": "cb1",
                "data": f"ack:{reference}",
                "chat_instance": "1",
                "from": {"id": account_id, "is_bot": False, "first_name": "x"},
            },
        }
    )


def command(text: str, account_id: int) -> str:
    response = post(
        {
            "update_id": next(_ids),
            "message": {
                "message_id": 1,
                "date": 0,
                "text": text,
                "chat": {"id": account_id, "type": "private"},
                "from": {"id": account_id, "is_bot": False, "first_name": "x"},
            },
        }
    )
    assert response.status_code == 200
    return response.json()["text"]


def acks(incident: Any) -> list[str]:
    return list(
        Event.objects.filter(incident=incident, kind="acknowledged").values_list(
            "actor_username", flat=True
        )
    )


def test_forged_secret_is_refused_without_side_effects(linked, incident_in, tg_settings):
    incident = incident_in("detected")
    update = {
        "update_id": 1,
        "callback_query": {
            "id": "c",
            "data": f"ack:{incident.reference}",
            "chat_instance": "1",
            "from": {"id": 1006, "is_bot": False, "first_name": "x"},
        },
    }
    for secret in ("wrong", "", None, SECRET[:-1]):
        assert post(update, secret).status_code == 403
    assert acks(incident) == [] and not BotUpdate.objects.exists()


def test_webhook_is_off_without_a_configured_secret(tg_settings):
    tg_settings.TELEGRAM_WEBHOOK_SECRET = ""
    assert post({"update_id": 1}, secret="").status_code == 403


def test_acknowledge_button_records_event_once_even_if_update_repeats(
    linked, incident_in, tg_settings
):
    incident = incident_in("detected")
    first = press_ack(incident.reference, 1006, update_id=77)
    assert first.status_code == 200 and first.json()["method"] == "answerCallbackQuery"
    again = press_ack(incident.reference, 1006, update_id=77)
    assert again.status_code == 200 and again.json() == {}
    assert acks(incident) == ["engineer2"]


def test_acknowledge_by_unlinked_telegram_user_is_refused(linked, incident_in, tg_settings):
    incident = incident_in("detected")
    body = press_ack(incident.reference, 999_999).json()
    assert body["show_alert"] is True and "not linked" in body["text"]
    assert acks(incident) == []


def test_acknowledge_by_role_without_rights_is_refused(linked, incident_in, tg_settings):
    incident = incident_in("detected")
    for chat in (1003, 1005):  # executive (read-only) and a user with no role
        body = press_ack(incident.reference, chat).json()
        assert body["show_alert"] is True and "may not" in body["text"]
    assert acks(incident) == []


def test_status_open_and_ack_commands(linked, incident_in, tg_settings):
    first = incident_in("detected", title="Older")
    second = incident_in("scoping", title="Newer")
    listing = command("/open", 1006)
    assert listing.index(second.reference) < listing.index(first.reference)
    assert "Scoping" in command(f"/status {second.reference}", 1006)
    assert "Acknowledged" in command(f"/ack {first.reference.lower()}", 1006)
    assert acks(first) == ["engineer2"]
    assert "No such incident" in command("/status INC-1999-0001", 1006)
    assert "not linked" in command("/open", 424242)


def test_incident_commands_refused_in_group_chats(linked, incident_in, tg_settings):
    incident = incident_in("detected")
    response = post(
        {
            "update_id": next(_ids),
            "message": {
                "message_id": 1,
                "date": 0,
                "text": "/open",
                "chat": {"id": -100500, "type": "group"},
                "from": {"id": 1006, "is_bot": False, "first_name": "x"},
            },
        }
    )
    text = response.json()["text"]
    assert "private chat" in text and incident.reference not in text


def test_transition_in_api_reaches_linked_chat_and_acknowledge_works_from_it(
    api, users, linked, incident_in, run_worker, fake_telegram, tg_settings
):
    incident = incident_in("detected")
    Subscription.objects.create(user=users["engineer2"], incident=incident)
    run_worker()
    fake_telegram.calls.clear()
    url = f"/api/incidents/{incident.reference}/transitions/start_scoping/"
    response = api("admin").post(url, {}, format="json")
    assert response.status_code == 200, response.content
    run_worker()
    message = fake_telegram.sent(1006)[-1]
    assert incident.reference in message.params["text"]
    assert "State: Detected → Scoping" in message.params["text"]
    button = message.params["reply_markup"]["inline_keyboard"][0][0]
    callback = {
        "update_id": next(_ids),
        "callback_query": {
            "id": "cb-42",
            "data": button["callback_data"],
            "chat_instance": "1",
            "from": {"id": 1006, "is_bot": False, "first_name": "x"},
        },
    }
    answer = post(callback).json()
    assert answer["method"] == "answerCallbackQuery" and answer["show_alert"] is False
    assert acks(incident) == ["engineer2"]


def test_follow_from_telegram_and_the_api(
    api, users, linked, incident_in, run_worker, fake_telegram, tg_settings
):
    incident = incident_in("detected")
    assert "every change" in command(f"/follow {incident.reference}", 1003)  # executive
    url = f"/api/me/subscriptions/{incident.reference}/"
    assert api("legal").put(url).status_code == 201
    assert api("legal").put(url).status_code == 200
    assert api("legal").get("/api/me/subscriptions/").json() == {"following": [incident.reference]}
    assert api("norole").put(url).status_code == 403
    assert api("legal").put("/api/me/subscriptions/INC-1999-0001/").status_code == 404
    run_worker()
    fake_telegram.calls.clear()
    from incidents.lifecycle import apply_transition

    apply_transition(incident, "start_scoping", actor=users["engineer"])
    run_worker()
    assert sorted(int(c.params["chat_id"]) for c in fake_telegram.sent()) == [1002, 1003]
    assert api("legal").delete(url).status_code == 204
    assert "no longer" in command(f"/unfollow {incident.reference}", 1003)
    assert not Subscription.objects.exists()


def test_a_refusal_from_the_domain_is_in_the_users_language(
    users, linked, incident_in, tg_settings
):
    closed = incident_in("closed")
    for username, chat, language, words in (
        ("engineer2", 1006, "en", "has nothing left to acknowledge"),
        ("engineer", 1001, "fa", "چیزی برای تأیید دریافت"),
    ):
        profile = Profile.for_user(users[username])
        profile.language = language
        profile.save()
        assert words in command(f"/ack {closed.reference}", chat)
        assert words in press_ack(closed.reference, chat).json()["text"]
    assert acks(closed) == []
