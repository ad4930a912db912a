"""`run_telegram_bot` answers updates fetched by getUpdates through the real client."""

from __future__ import annotations

import threading
import time

from incidents.models import Event
from notifier.channels import bot_channel
from notifier.management.commands.run_telegram_bot import poll
from notifier.ratelimit import RateLimiter
from notifier.transports.botapi import BotApiTransport
from notifier.worker import Sender
from tests.notifier.fake_botapi import FakeBotAPI


def poll_for_a_second(fake_telegram: FakeBotAPI) -> None:
    """run_telegram_bot's loop, for a second, against the fake Bot API."""
    transport = BotApiTransport(bot_channel("telegram"))
    sender = Sender(transport, RateLimiter(1000, 0))
    sender.start()
    try:
        poll(sender, transport, threading.Event(), 0, time.monotonic() + 1.0)
    finally:
        sender.stop()


def test_polling_answers_buttons_and_commands(linked, incident_in, fake_telegram, tg_settings):
    incident = incident_in("detected")
    fake_telegram.updates = [
        {
            "update_id": 500,
            "callback_query": {
                "id": "cb-9",
                "data": f"ack:{incident.reference}",
                "chat_instance": "1",
                "from": {"id": 1006, "is_bot": False, "first_name": "x"},
            },
        },
        {
            "update_id": 501,
            "message": {
                "message_id": 3,
                "date": 0,
                "text": f"/status {incident.reference}",
                "chat": {"id": 1006, "type": "private"},
                "from": {"id": 1006, "is_bot": False, "first_name": "x"},
            },
        },
    ]
    poll_for_a_second(fake_telegram)
    answers = fake_telegram.attempts("answerCallbackQuery")
    assert [a.params["callback_query_id"] for a in answers] == ["cb-9"]
    assert Event.objects.filter(incident=incident, kind="acknowledged").count() == 1
    status = [
        c for c in fake_telegram.attempts("sendMessage") if incident.reference in c.params["text"]
    ]
    assert len(status) == 1 and int(status[0].params["chat_id"]) == 1006
    offsets = [c.params.get("offset") for c in fake_telegram.attempts("getUpdates")]
    assert 502 in offsets  # both updates confirmed, so Telegram will not resend them
