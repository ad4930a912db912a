"""Notifier fixtures: the fake Bot API, settings pointing at it, linked chats, a worker run."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User

from notifier.channels import bot_channel
from notifier.linking import issue_link_token, link_chat
from notifier.models import ChatLink
from notifier.transports.botapi import BotApiTransport
from notifier.transports.webhook import WebhookTransport
from notifier.worker import Worker
from tests.conftest import make_user
from tests.notices.servers import SmtpServer
from tests.notifier.fake_botapi import BALE_TOKEN, TOKEN, FakeBotAPI
from tests.notifier.webhook_receiver import WebhookReceiver


@pytest.fixture
def fake_telegram() -> Iterator[FakeBotAPI]:
    fake = FakeBotAPI().start()
    yield fake
    fake.stop()


@pytest.fixture
def tg_settings(settings: Any, fake_telegram: FakeBotAPI) -> Any:
    settings.TELEGRAM_BOT_TOKEN = TOKEN
    settings.TELEGRAM_BOT_USERNAME = "fake_bot"
    settings.TELEGRAM_API_BASE_URL = fake_telegram.base_url
    settings.TELEGRAM_WEBHOOK_SECRET = "s3cret-webhook-value"
    settings.TELEGRAM_TIMEOUT_SECONDS = 1.0
    settings.TELEGRAM_GLOBAL_RATE = 1000.0
    settings.TELEGRAM_CHAT_INTERVAL_SECONDS = 0.0
    settings.TELEGRAM_RETRY_BASE_SECONDS = 0.05
    settings.TELEGRAM_RETRY_MAX_SECONDS = 0.2
    settings.TELEGRAM_MAX_ATTEMPTS = 4
    settings.PUBLIC_BASE_URL = "https://desk.example.com"
    settings.LANGUAGE_CODE = "en"  # replies in English unless a test sets a profile language
    return settings


@pytest.fixture
def fake_bale() -> Iterator[FakeBotAPI]:
    """Bale's Bot API, on a port of its own beside the fake Telegram."""
    fake = FakeBotAPI(dialect="bale", token=BALE_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def bale_settings(settings: Any, fake_bale: FakeBotAPI) -> Any:
    settings.BALE_BOT_TOKEN = BALE_TOKEN
    settings.BALE_BOT_USERNAME = "fake_bale_bot"
    settings.BALE_API_BASE_URL = fake_bale.base_url
    settings.BALE_WEBHOOK_SECRET = "bale-path-s3cret"
    settings.BALE_GLOBAL_RATE = 1000.0
    settings.BALE_CHAT_INTERVAL_SECONDS = 0.0
    settings.TELEGRAM_TIMEOUT_SECONDS = 1.0
    settings.PUBLIC_BASE_URL = "https://desk.example.com"
    settings.LANGUAGE_CODE = "en"
    return settings


def link(user: User, chat_id: int, channel: str = "telegram") -> ChatLink:
    """Link a chat the way a person does: a token from the API, then /start in private."""
    token, _ = issue_link_token(user, channel)
    link_chat(token, account_id=chat_id, chat_id=chat_id, username=user.username, channel=channel)
    return ChatLink.objects.on(channel).get(user=user)


@pytest.fixture
def linked(users: dict[str, User]) -> dict[str, ChatLink]:
    """Every role linked; chat ids: engineer 1001, legal 1002, executive 1003, admin 1004,
    norole 1005, and a second engineer ("engineer2") 1006."""
    users["engineer2"] = make_user("engineer2", "engineer")
    chats = {
        "engineer": 1001,
        "legal": 1002,
        "executive": 1003,
        "admin": 1004,
        "norole": 1005,
        "engineer2": 1006,
    }
    return {role: link(users[role], chat) for role, chat in chats.items()}


@pytest.fixture
def run_worker(tg_settings: Any, fake_telegram: FakeBotAPI) -> Callable[..., Worker]:
    """run_worker() -> run one worker until nothing is due; ``until`` keeps running (for retries
    scheduled in the near future) until the predicate holds or ``max_seconds`` pass."""

    def run(until: Callable[[], bool] | None = None, max_seconds: float = 10.0) -> Worker:
        end = time.monotonic() + max_seconds
        while True:
            worker = Worker(BotApiTransport(bot_channel("telegram")))
            worker.run(until_idle=True, max_seconds=max_seconds)
            if until is None or until() or time.monotonic() > end:
                return worker
            time.sleep(0.02)

    return run


# --- outbound webhooks: a receiver on loopback, settings that let the transport reach it ---


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    fake = WebhookReceiver().start()
    yield fake
    fake.stop()


@pytest.fixture
def hook_settings(settings: Any) -> Any:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on loopback
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    settings.PUBLIC_BASE_URL = "https://desk.example.com"
    return settings


@pytest.fixture
def transport(hook_settings: Any) -> Iterator[WebhookTransport]:
    sender = WebhookTransport()
    yield sender
    sender.close()


def email_to(settings: Any, server: SmtpServer) -> None:
    """Email alerts on, through Django's SMTP backend, to ``server`` on loopback."""
    settings.EMAIL_ALERTS = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 2.0
    settings.DEFAULT_FROM_EMAIL = "desk@corp.example"
    settings.SMS_GATEWAY_URL = settings.SMS_FILE_PATH = ""
