"""An update that is not well-formed is answered 200 and dropped: nothing written, a warning.

Only a caller with the webhook secret gets this far, but Telegram delivers again, forever,
any update answered with an error, so a 500 (or a 400) would never go away.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from incidents.models import Event
from notifier.linking import issue_link_token
from notifier.models import BotUpdate, ChatLink, LinkAudit, LinkToken
from tests.notifier.test_polling_bot import poll_for_a_second
from tests.notifier.test_webhook_and_commands import SECRET

UPDATE_ID = 424242
SENDER = {"id": 7001, "is_bot": False, "first_name": "x"}


def start(token: str, *, text: str | None = None, **changes: Any) -> dict[str, Any]:
    """/start <token> in a private chat, with ``changes`` to the message (None drops a key)."""
    message = {
        "message_id": 1,
        "date": 0,
        "text": f"/start {token}" if text is None else text,
        "chat": {"id": 7001, "type": "private"},
        "from": dict(SENDER),
        **changes,
    }
    return {"update_id": UPDATE_ID, "message": {k: v for k, v in message.items() if v is not None}}


def button(**changes: Any) -> dict[str, Any]:
    query = {"id": "cb", "data": "ack:INC-2026-0001", "chat_instance": "1", "from": dict(SENDER)}
    return {"update_id": UPDATE_ID, "callback_query": {**query, **changes}}


def raw(body: str | bytes) -> Callable[[str], str | bytes]:
    return lambda token: body


def post(body: Any) -> Any:
    raw_body = body if isinstance(body, str | bytes) else json.dumps(body)
    return Client().post(
        "/telegram/webhook/",
        raw_body,
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=SECRET,
    )


MALFORMED: dict[str, Callable[[str], Any]] = {
    "update_id 1e400": raw('{"update_id": 1e400, "message": {}}'),
    "update_id Infinity": raw('{"update_id": Infinity}'),
    "update_id -Infinity": raw('{"update_id": -Infinity}'),
    "update_id NaN": raw('{"update_id": NaN}'),
    "update_id 2**63": lambda token: {**start(token), "update_id": 2**63},
    "update_id -2**63-1": lambda token: {**start(token), "update_id": -(2**63) - 1},
    "update_id 10**30": lambda token: {**start(token), "update_id": 10**30},
    "update_id float": lambda token: {**start(token), "update_id": 5.0},
    "update_id bool": lambda token: {**start(token), "update_id": True},
    "update_id string": lambda token: {**start(token), "update_id": "5"},
    "update_id missing": lambda token: {"message": start(token)["message"]},
    "not json": raw("not json"),
    "not utf-8": raw(b'{"update_id": 1, "x": "\xff"}'),
    "a list": lambda token: [1, 2],
    "deeply nested": raw("[" * 2000 + "]" * 2000),
    "deeply nested inside": raw('{"update_id": 5, "message": ' + "[" * 2000 + "]" * 2000 + "}"),
    "message a list": lambda token: {"update_id": UPDATE_ID, "message": [1]},
    "chat a string": lambda token: start(token, chat="x"),
    "chat a list": lambda token: start(token, chat=[7001]),
    "chat missing": lambda token: start(token, chat=None),
    "chat.id a string": lambda token: start(token, chat={"id": "x", "type": "private"}),
    "chat.id too big": lambda token: start(token, chat={"id": 2**64, "type": "private"}),
    "from a string": lambda token: start(token, **{"from": "x"}),
    "from a list": lambda token: start(token, **{"from": [SENDER]}),
    "from.id abc": lambda token: start(token, **{"from": {**SENDER, "id": "abc"}}),
    "from.id [1]": lambda token: start(token, **{"from": {**SENDER, "id": [1]}}),
    "from.id {}": lambda token: start(token, **{"from": {**SENDER, "id": {}}}),
    "from.id float": lambda token: start(token, **{"from": {**SENDER, "id": 7001.0}}),
    "/start without from": lambda token: start(token, **{"from": None}),
    "/start without from.id": lambda token: start(token, **{"from": {"first_name": "x"}}),
    "/start lone surrogate": lambda token: start(token, text="/start \ud800"),
    "username lone surrogate": lambda token: start(
        token, **{"from": {**SENDER, "username": "\udfff"}}
    ),
    "text a number": lambda token: start(token, text=5),
    "callback_query a string": lambda token: {"update_id": UPDATE_ID, "callback_query": "x"},
    "callback_query.from a string": lambda token: button(**{"from": "x"}),
    "callback_query.from.id a string": lambda token: button(**{"from": {"id": "1"}}),
    "callback_query.data a list": lambda token: button(data=["ack:INC-2026-0001"]),
}


@pytest.mark.parametrize("build", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_update_is_answered_200_and_changes_nothing(
    build: Callable[[str], Any], users, tg_settings, caplog
):
    token, row = issue_link_token(users["engineer"])
    body = build(token)
    events = Event.objects.count()
    with caplog.at_level(logging.WARNING, logger="notifier"):
        response = post(body)
    assert response.status_code == 200 and response.json() == {}
    assert not BotUpdate.objects.exists()
    assert not ChatLink.objects.exists() and not LinkAudit.objects.exists()
    assert LinkToken.objects.get(pk=row.pk).used_at is None
    assert Event.objects.count() == events
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings, "a dropped update is logged"
    if isinstance(body, dict) and body.get("update_id") == UPDATE_ID:
        assert str(UPDATE_ID) in warnings[-1]


def test_well_formed_start_still_links_the_chat(users, tg_settings):
    token, _ = issue_link_token(users["engineer"])
    response = post(start(token, **{"from": {**SENDER, "username": "oncall"}}))
    assert response.status_code == 200 and "Linked" in response.json()["text"]
    link = ChatLink.objects.get(user=users["engineer"])
    assert (link.account_id, link.chat_id, link.username) == (7001, 7001, "oncall")
    assert BotUpdate.objects.filter(update_id=UPDATE_ID).exists()


def test_polling_drops_a_malformed_update_and_answers_the_next(users, fake_telegram, tg_settings):
    token, row = issue_link_token(users["engineer"])
    fake_telegram.updates = [
        {**start(token, **{"from": {**SENDER, "id": "abc"}}), "update_id": 600},
        {**start(token), "update_id": 601},
    ]
    poll_for_a_second(fake_telegram)
    assert list(BotUpdate.objects.values_list("update_id", flat=True)) == [601]
    assert ChatLink.objects.get(user=users["engineer"]).account_id == 7001
    replies = fake_telegram.attempts("sendMessage")
    assert len(replies) == 1 and "Linked" in replies[0].params["text"]
    offsets = [c.params.get("offset") for c in fake_telegram.attempts("getUpdates")]
    assert 602 in offsets  # both confirmed: Telegram will not resend the malformed one
