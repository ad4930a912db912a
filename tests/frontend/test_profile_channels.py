"""The profile page shows every channel alerts reach the person on: each bot channel's link
(linked as whom, inactive and why, not linked), its link and unlink buttons, the account's email,
and the way to the alert preferences."""

from __future__ import annotations

from typing import Any

import pytest

from notifier.linking import deactivate_chat, issue_link_token, link_chat
from notifier.models import BALE, TELEGRAM, ChatLink, LinkAudit, LinkToken
from tests.frontend.helpers import browser


def linked(user: Any, channel: str, chat_id: int, username: str) -> None:
    token, _ = issue_link_token(user, channel)
    link_chat(token, account_id=chat_id, chat_id=chat_id, username=username, channel=channel)


@pytest.fixture
def settings(settings: Any) -> Any:
    """Pages in English here: the assertions read the source sentences."""
    settings.LANGUAGE_CODE = "en"
    return settings


def section(html: str, channel: str) -> str:
    start = html.index(f'id="chat-{channel}"')
    return html[start : html.index("</section>", start)]


def test_profile_shows_each_channels_link_state(users, settings):
    settings.TELEGRAM_BOT_USERNAME, settings.BALE_BOT_USERNAME = "desk_bot", "desk_bale_bot"
    engineer = users["engineer"]
    linked(engineer, TELEGRAM, 1001, "tg_name")
    linked(engineer, BALE, 2001, "bale_name")
    deactivate_chat(BALE, 2001, "Forbidden: bot was blocked by the user")
    html = browser(engineer).get("/profile/").content.decode()
    assert "Linked to Telegram account tg_name." in section(html, TELEGRAM)
    bale = section(html, BALE)
    assert "The link to Bale account bale_name is inactive" in bale
    assert "bot was blocked by the user" in bale
    assert 'action="/profile/chats/bale/unlink/"' in bale


def test_profile_says_not_linked_and_offers_a_link_only_where_a_bot_is_set_up(users, settings):
    settings.TELEGRAM_BOT_USERNAME, settings.TELEGRAM_BOT_TOKEN = "", ""
    settings.BALE_BOT_USERNAME = "desk_bale_bot"
    html = browser(users["engineer"]).get("/profile/").content.decode()
    telegram, bale = section(html, TELEGRAM), section(html, BALE)
    assert "Not linked yet." in telegram and "Not linked yet." in bale
    assert "The Telegram bot is not set up on this server." in telegram
    assert 'action="/profile/chats/bale/link/"' in bale and "Get a Bale link" in bale
    assert "unlink" not in bale


def test_profile_hands_out_a_bale_deep_link_for_bale_only(users, settings):
    settings.BALE_BOT_USERNAME = "desk_bale_bot"
    html = browser(users["engineer"]).post("/profile/chats/bale/link/").content.decode()
    assert "https://ble.ir/desk_bale_bot?start=" in section(html, BALE)
    assert "?start=" not in section(html, TELEGRAM)
    assert list(LinkToken.objects.values_list("channel", flat=True)) == [BALE]


def test_unlinking_bale_from_the_profile_keeps_telegram(users, settings):
    engineer = users["engineer"]
    linked(engineer, TELEGRAM, 1001, "tg_name")
    linked(engineer, BALE, 2001, "bale_name")
    response = browser(engineer).post("/profile/chats/bale/unlink/")
    assert response.status_code == 302 and response["Location"] == "/profile/"
    assert list(ChatLink.objects.values_list("channel", flat=True)) == [TELEGRAM]
    assert LinkAudit.objects.get(action="unlinked").channel == BALE


def test_an_unknown_channel_is_not_found(users, settings):
    assert browser(users["engineer"]).post("/profile/chats/signal/link/").status_code == 404


def test_profile_shows_the_account_email_or_its_absence(users, settings):
    engineer = users["engineer"]
    engineer.email = "eng@example.com"
    engineer.save()
    html = browser(engineer).get("/profile/").content.decode()
    assert "eng@example.com" in section(html, "email")
    assert 'href="/profile/alerts/"' in section(html, "email")
    engineer.email = ""
    engineer.save()
    html = browser(engineer).get("/profile/").content.decode()
    assert "No email on your account" in section(html, "email")
