"""Linking a Telegram chat to an account: no guessing, no hijacking; recorded."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from notifier.bot import process_update
from notifier.linking import digest
from notifier.models import ChatLink, LinkAudit, LinkToken
from tests.conftest import client_for

_update_ids = iter(range(1, 10**6))


def start(
    token: str, *, user_id: int = 5001, chat_type: str = "private", chat_id: int | None = None
) -> str:
    reply = process_update(
        "telegram",
        {
            "update_id": next(_update_ids),
            "message": {
                "message_id": 1,
                "date": 0,
                "text": f"/start {token}",
                "chat": {"id": chat_id or user_id, "type": chat_type},
                "from": {"id": user_id, "is_bot": False, "first_name": "x", "username": "tg_user"},
            },
        },
    )
    assert reply is not None and reply["method"] == "sendMessage"
    return reply["text"]


def new_token(api: Any, role: str = "engineer") -> str:
    response = api(role).post("/api/me/telegram-link/")
    assert response.status_code == 201, response.content
    return response.json()["token"]


def test_link_endpoint_returns_single_use_token_and_deep_link(api, tg_settings):
    body = api("engineer").post("/api/me/telegram-link/").json()
    assert body["deep_link"] == f"https://t.me/fake_bot?start={body['token']}"
    row = LinkToken.objects.get()
    assert row.digest == digest(body["token"]) and body["token"] not in row.digest
    assert dt.timedelta(minutes=9) < row.expires_at - timezone.now() <= dt.timedelta(minutes=10)


def test_link_endpoint_answers_anonymous_401_and_issues_nothing(db):
    response = client_for(None).post("/api/me/telegram-link/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"
    assert not LinkToken.objects.exists()


def test_start_with_valid_token_links_private_chat_and_is_recorded(api, users, tg_settings):
    text = start(new_token(api))
    assert "Linked" in text
    link = ChatLink.objects.get(user=users["engineer"])
    assert (link.chat_id, link.account_id, link.active) == (5001, 5001, True)
    assert LinkAudit.objects.filter(user=users["engineer"], action="linked").count() == 1
    assert api("engineer").get("/api/me/telegram-link/").json()["linked"] is True


def test_reused_token_is_refused(api, users, tg_settings):
    token = new_token(api)
    start(token)
    assert "already used" in start(token, user_id=5002)
    assert ChatLink.objects.count() == 1


def test_expired_token_is_refused(api, tg_settings):
    token = new_token(api)
    LinkToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert "expired" in start(token)
    assert not ChatLink.objects.exists()


def test_unknown_token_is_refused(api, tg_settings):
    new_token(api)
    assert "unknown" in start("not-a-real-token-guess-1234567890")
    assert not ChatLink.objects.exists()


def test_group_chat_cannot_link(api, tg_settings):
    token = new_token(api)
    assert "private chat" in start(token, chat_type="group", chat_id=-100123)
    assert not ChatLink.objects.exists()
    assert LinkToken.objects.get().used_at is None  # the token is still good in private


def test_one_telegram_account_links_to_one_user_only(api, users, tg_settings):
    start(new_token(api, "engineer"))
    assert "another Breach Desk account" in start(new_token(api, "legal"))
    assert list(ChatLink.objects.values_list("user__username", flat=True)) == ["engineer"]


def test_unlink_command_removes_link_and_is_recorded(api, users, tg_settings):
    start(new_token(api))
    reply = process_update(
        "telegram",
        {
            "update_id": next(_update_ids),
            "message": {
                "message_id": 2,
                "date": 0,
                "text": "/unlink",
                "chat": {"id": 5001, "type": "private"},
                "from": {"id": 5001, "is_bot": False, "first_name": "x"},
            },
        },
    )
    assert "Unlinked" in reply["text"]
    assert not ChatLink.objects.exists()
    assert LinkAudit.objects.filter(action="unlinked").count() == 1


def test_unlink_from_the_web(api, users, tg_settings):
    start(new_token(api))
    assert api("engineer").delete("/api/me/telegram-link/").status_code == 204
    assert api("engineer").get("/api/me/telegram-link/").json() == {"linked": False}


def test_alerts_queued_before_unlink_are_not_sent(users, linked, run_worker, fake_telegram):
    from incidents.lifecycle import create_incident
    from notifier.models import Delivery
    from notifier.outbox import derive_deliveries

    create_incident(actor=users["admin"], data={"title": "t", "severity": "low"})
    derive_deliveries()
    process_update(
        "telegram",
        {
            "update_id": next(_update_ids),
            "message": {
                "message_id": 2,
                "date": 0,
                "text": "/unlink",
                "chat": {"id": 1001, "type": "private"},
                "from": {"id": 1001, "is_bot": False, "first_name": "x"},
            },
        },
    )
    run_worker()
    assert fake_telegram.sent(1001) == [] and len(fake_telegram.sent(1006)) == 1
    assert Delivery.objects.get(chat_id=1001).status == "dead"
