"""Bale beside Telegram from one implementation: its own webhook (path secret), link tokens,
links and update ids; its replies and alerts through its own API (a second fake on another
port), with the features Bale has (plain text, buttons), 429 and chat-gone handled per channel.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from incidents.lifecycle import create_incident
from incidents.models import Event
from notifier.bot import process_update
from notifier.channels import bot_channel, bot_channels
from notifier.linking import deactivate_chat, issue_link_token
from notifier.management.commands.run_bot import poll
from notifier.models import BALE, TELEGRAM, ChatLink, LinkAudit
from notifier.ratelimit import RateLimiter
from notifier.transports.botapi import BotApiTransport
from notifier.transports.errors import TransportError
from notifier.worker import Sender
from tests.notifier.conftest import link

SECRET = "bale-path-s3cret"
_ids = iter(range(50_000, 10**6))


def message(text: str, account_id: int, update_id: int | None = None) -> dict[str, Any]:
    return {
        "update_id": update_id or next(_ids),
        "message": {
            "message_id": 1,
            "date": 0,
            "text": text,
            "chat": {"id": account_id, "type": "private"},
            "from": {"id": account_id, "is_bot": False, "first_name": "x", "username": "b_user"},
        },
    }


def press(data: str, account_id: int) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": "bale-cb",
            "data": data,
            "from": {"id": account_id, "is_bot": False, "first_name": "x"},
        },
    }


def post_bale(body: Any, path: str = f"/bale/webhook/{SECRET}/", **headers: Any) -> Any:
    return Client().post(path, json.dumps(body), content_type="application/json", **headers)


def send_on(channel: str, chat_id: int, text: str, markup: dict | None = None) -> int:
    async def go() -> int:
        transport = BotApiTransport(bot_channel(channel))
        try:
            return await transport.send(chat_id, text, markup)
        finally:
            await transport.stop()

    return asyncio.run(go())


def test_channels_list_telegram_first_and_know_whether_configured(settings: Any) -> None:
    settings.TELEGRAM_BOT_TOKEN, settings.BALE_BOT_TOKEN = "t", ""
    assert [(c.name, c.configured) for c in bot_channels()] == [(TELEGRAM, True), (BALE, False)]
    settings.BALE_BOT_TOKEN, settings.BALE_BOT_USERNAME = "b", "desk_bot"
    assert bot_channel(BALE).configured
    assert bot_channel(BALE).deep_link("abc") == "https://ble.ir/desk_bot?start=abc"


def test_linking_on_bale_through_its_webhook(api, users, bale_settings, fake_bale, fake_telegram):
    body = api("engineer").post("/api/me/bale-link/").json()
    assert body["deep_link"] == f"https://ble.ir/fake_bale_bot?start={body['token']}"
    response = post_bale(message(f"/start {body['token']}", 2001))
    assert response.status_code == 200 and response.json() == {}  # the reply goes by the API
    [reply] = fake_bale.attempts("sendMessage")
    assert int(reply.params["chat_id"]) == 2001
    assert reply.params["text"].startswith("Linked to Breach Desk account engineer.")
    assert "parse_mode" not in reply.params
    assert fake_telegram.calls == []
    link = ChatLink.objects.on(BALE).get(user=users["engineer"])
    assert (link.account_id, link.chat_id, link.username) == (2001, 2001, "b_user")
    assert not ChatLink.objects.on(TELEGRAM).exists()
    assert LinkAudit.objects.get(action="linked").channel == BALE
    status = api("engineer").get("/api/me/bale-link/").json()
    assert status["linked"] is True and status["username"] == "b_user"
    assert "telegram_username" not in status
    assert api("engineer").get("/api/me/telegram-link/").json() == {"linked": False}


def test_bale_webhook_refuses_a_wrong_or_missing_secret(users, bale_settings, settings):
    start = message("/help", 2001)
    assert post_bale(start, "/bale/webhook/wrong/").status_code == 403
    assert post_bale(start, "/bale/webhook/").status_code == 403
    assert (
        post_bale(start, "/bale/webhook/", HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=SECRET).json() == {}
    )
    settings.BALE_WEBHOOK_SECRET = ""  # no secret configured: the webhook is off, not open
    assert post_bale(start).status_code == 403
    assert post_bale(message("/help", 2001), "/bale/webhook/").status_code == 403


def test_a_bale_link_code_is_refused_on_telegram_and_the_other_way(users, tg_settings):
    bale_token, _ = issue_link_token(users["engineer"], BALE)
    reply = process_update(TELEGRAM, message(f"/start {bale_token}", 3001))
    assert "link code is unknown" in reply["text"]
    telegram_token, _ = issue_link_token(users["engineer"], TELEGRAM)
    reply = process_update(BALE, message(f"/start {telegram_token}", 3001))
    assert "link code is unknown" in reply["text"]
    assert not ChatLink.objects.exists()


def test_the_taken_refusal_names_the_channel(users, bale_settings):
    link(users["engineer"], 2001, BALE)
    token, _ = issue_link_token(users["legal"], BALE)
    reply = process_update(BALE, message(f"/start {token}", 2001))
    assert reply["text"] == ("This Bale account is already linked to another Breach Desk account.")
    assert "This Bale account is not linked" in process_update(BALE, message("/open", 2002))["text"]


def test_the_same_update_id_on_both_channels_is_handled_twice(users, bale_settings):
    assert process_update(TELEGRAM, message("/help", 4001, update_id=77)) is not None
    assert process_update(BALE, message("/help", 4001, update_id=77)) is not None
    assert process_update(BALE, message("/help", 4001, update_id=77)) is None  # a repeat


def test_acknowledge_button_pressed_in_bale(users, bale_settings, fake_bale):
    link(users["engineer"], 2001, BALE)
    incident, _ = create_incident(
        actor=users["admin"], data={"title": "Exposed bucket", "severity": "critical"}
    )
    assert post_bale(press(f"ack:{incident.reference}", 2001)).status_code == 200
    [answer] = fake_bale.attempts("answerCallbackQuery")
    assert answer.params["callback_query_id"] == "bale-cb"
    assert answer.params["text"] == f"Acknowledged {incident.reference}."
    acked = Event.objects.filter(incident=incident, kind="acknowledged")
    assert list(acked.values_list("actor_username", flat=True)) == ["engineer"]


def test_unlink_on_bale_leaves_the_telegram_link(users, bale_settings, tg_settings):
    link(users["engineer"], 5001, TELEGRAM)
    link(users["engineer"], 5001, BALE)
    reply = process_update(BALE, message("/unlink", 5001))
    assert reply["text"].startswith("Unlinked.")
    assert list(ChatLink.objects.values_list("channel", flat=True)) == [TELEGRAM]
    audit = LinkAudit.objects.get(action="unlinked")
    assert (audit.channel, audit.detail) == (BALE, "/unlink from Bale")


def test_an_alert_goes_to_bale_as_plain_text_with_its_buttons(
    bale_settings, tg_settings, fake_bale, fake_telegram
):
    text = '🚨 <b>New incident</b>\n<b>INC-2026-0001</b> &amp; co\n<a href="https://desk.example.com/i/1?a=1&amp;b=2">Open</a>'
    buttons = {"inline_keyboard": [[{"text": "Acknowledge", "callback_data": "ack:INC-2026-0001"}]]}
    send_on(BALE, 2001, text, buttons)
    [sent] = fake_bale.sent(2001)
    assert sent.params["text"] == (
        "🚨 New incident\nINC-2026-0001 & co\nOpen: https://desk.example.com/i/1?a=1&b=2"
    )
    assert "parse_mode" not in sent.params and "link_preview_options" not in sent.params
    assert sent.params["reply_markup"] == buttons
    send_on(TELEGRAM, 2001, text, buttons)
    [telegram] = fake_telegram.sent(2001)
    assert telegram.params["text"] == text and telegram.params["parse_mode"] == "HTML"
    assert telegram.params["link_preview_options"] == {"is_disabled": True}


def test_bale_429_says_when_to_retry(bale_settings, fake_bale):
    fake_bale.script_chat(2001, ("429", 7))
    with pytest.raises(TransportError) as refused:
        send_on(BALE, 2001, "x")
    assert refused.value.retry_after == 7 and not refused.value.permanent


@pytest.mark.parametrize("answer", ["403", "400"])
def test_a_chat_gone_on_bale_deactivates_only_the_bale_link(
    users, bale_settings, tg_settings, fake_bale, answer
):
    link(users["engineer"], 6001, TELEGRAM)
    link(users["engineer"], 6001, BALE)  # the same chat id on both channels
    fake_bale.script_chat(6001, answer)  # 400: Bale's "no such group or user"
    with pytest.raises(TransportError) as refused:
        send_on(BALE, 6001, "x")
    assert refused.value.chat_gone and refused.value.permanent
    deactivate_chat(BALE, 6001, refused.value.message)
    states = dict(ChatLink.objects.values_list("channel", "active"))
    assert states == {TELEGRAM: True, BALE: False}
    audit = LinkAudit.objects.get(action="deactivated")
    assert (audit.channel, audit.chat_id) == (BALE, 6001)


def test_polling_bale_answers_through_bale_not_telegram(
    users, bale_settings, tg_settings, fake_bale, fake_telegram
):
    fake_bale.updates = [message("/help", 2001, update_id=1)]
    transport = BotApiTransport(bot_channel(BALE))
    sender = Sender(transport, RateLimiter(1000, 0))
    sender.start()
    try:
        poll(sender, transport, threading.Event(), 0, time.monotonic() + 1.0)
    finally:
        sender.stop()
    [reply] = fake_bale.attempts("sendMessage")
    assert reply.params["text"].startswith("Commands:") and "parse_mode" not in reply.params
    assert [c.params.get("offset") for c in fake_bale.attempts("getUpdates")][1] == 2
    assert fake_telegram.calls == []


@pytest.mark.parametrize(
    ("command", "channel", "name"),
    [
        (["run_bot", "--channel", "bale"], "BALE", "Bale"),
        (["run_bot", "--channel", "telegram"], "TELEGRAM", "Telegram"),
        (["run_telegram_bot"], "TELEGRAM", "Telegram"),
    ],
)
def test_run_bot_refuses_without_the_channels_token(settings, command, channel, name):
    setattr(settings, f"{channel}_BOT_TOKEN", "")
    with pytest.raises(CommandError, match=f"{channel}_BOT_TOKEN is not set; the {name} bot"):
        call_command(*command, "--max-seconds", "0.1")


def test_bale_link_api_unlinks_only_bale(api, users, bale_settings, tg_settings):
    link(users["engineer"], 7001, TELEGRAM)
    link(users["engineer"], 7001, BALE)
    assert api("engineer").delete("/api/me/bale-link/").status_code == 204
    assert api("engineer").get("/api/me/bale-link/").json() == {"linked": False}
    assert api("engineer").get("/api/me/telegram-link/").json()["telegram_username"] == "engineer"


def test_a_reply_bale_refuses_still_answers_its_webhook(api, users, bale_settings, fake_bale):
    """The reply is an answer to a command (asked again if lost); the update itself was handled
    and must not come back."""
    token = api("engineer").post("/api/me/bale-link/").json()["token"]
    fake_bale.script_method("sendMessage", "500")
    assert post_bale(message(f"/start {token}", 2001)).json() == {}
    assert [c.status for c in fake_bale.attempts("sendMessage")] == [500]
    assert ChatLink.objects.on(BALE).filter(user=users["engineer"], chat_id=2001).exists()
