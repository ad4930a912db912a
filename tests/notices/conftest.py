"""Notice fixtures: people added to the register through its domain function, campaigns drafted
and approved through theirs, a real SMTP server and a fake SMS gateway on loopback, and the real
worker run until a condition holds."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User

from incidents.affected.campaigns import approve_campaign, draft_campaign
from incidents.affected.decision import record_decision
from incidents.affected.register import add_person
from incidents.legal.obligations import seed_rules
from incidents.models import Incident, NoticeCampaign
from notifier.notice_sending import NoticeSending
from notifier.transports.botapi import LogOnlyTransport
from notifier.worker import Worker
from tests.conftest import make_user
from tests.notices.servers import GATEWAY_TOKEN, FakeSmsGateway, SmtpServer

# Telegram's fake Bot API and linked chats, for the alerts legal gets about campaigns.
from tests.notifier.conftest import fake_telegram, linked, run_worker, tg_settings  # noqa: F401

# What the breach fixture leaked: names, contacts, bank accounts and passwords.
LEAKED = ["identity", "contact", "bank_account", "credentials"]
PEOPLE = [
    # (customer id, name, email, mobile, language)
    ("C-1", "علی رضایی", "ali@example.com", "09121234567", "fa"),
    ("C-2", "Sara Ahmadi", "sara@example.org", "", "en"),
    ("C-3", "مریم کاظمی", "", "+98 935 111 2233", "fa"),
]


@pytest.fixture
def notice_settings(settings: Any) -> Any:
    """Fast retries, rates that do not get in the way, a fixed public address and company."""
    settings.TELEGRAM_BOT_TOKEN = ""  # alerts log-only: these tests are about notices
    settings.NOTIFIER_POLL_SECONDS = 0.02
    settings.EMAIL_RATE_PER_MINUTE = 100_000
    settings.SMS_RATE_PER_MINUTE = 100_000
    settings.NOTICE_RETRY_BASE_SECONDS = 0.2
    settings.NOTICE_RETRY_MAX_SECONDS = 0.4
    settings.NOTICE_MAX_ATTEMPTS = 4
    settings.PUBLIC_BASE_URL = "https://desk.example.com"
    settings.COMPANY_NAME = "Example Shop"
    settings.COMPANY_NAME_FA = "فروشگاه نمونه"
    settings.NOTICE_CONTACT = "support@shop.example"
    settings.DEFAULT_FROM_EMAIL = "notices@shop.example"
    settings.SMS_GATEWAY_URL = ""
    settings.SMS_FILE_PATH = ""
    return settings


@pytest.fixture
def smtp(notice_settings: Any) -> Iterator[SmtpServer]:
    """A real SMTP server on loopback, and the settings that send to it."""
    with SmtpServer() as server:
        notice_settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        notice_settings.EMAIL_HOST = "127.0.0.1"
        notice_settings.EMAIL_PORT = server.port
        notice_settings.EMAIL_USE_TLS = False
        notice_settings.EMAIL_HOST_USER = notice_settings.EMAIL_HOST_PASSWORD = ""
        notice_settings.EMAIL_TIMEOUT = 2.0
        yield server


@pytest.fixture
def sms_gateway(notice_settings: Any) -> Iterator[FakeSmsGateway]:
    with FakeSmsGateway() as gateway:
        notice_settings.SMS_GATEWAY_URL = gateway.url
        notice_settings.SMS_GATEWAY_TOKEN = GATEWAY_TOKEN
        notice_settings.SMS_TIMEOUT_SECONDS = 2.0
        yield gateway


@pytest.fixture
def legal2(users: dict[str, User]) -> User:
    users["legal2"] = make_user("legal2", "legal")
    return users["legal2"]


def add_people(incident: Incident, actor: User, people: list[tuple[str, ...]] = PEOPLE) -> None:
    for customer_id, name, email, mobile, language in people:
        add_person(
            incident,
            {
                "customer_id": customer_id,
                "name": name,
                "email": email,
                "mobile": mobile,
                "language": language,
            },
            actor=actor,
        )


@pytest.fixture
def breach(users: dict[str, User], incident_in: Callable[..., Incident]) -> Incident:
    """A breach being restored whose scope leaked names, contacts, bank accounts and passwords;
    legal decided to tell the people (so GDPR art. 34's obligation is open); three people in the
    register (Persian with email, English with email, Persian with a mobile only)."""
    seed_rules()
    incident = incident_in("restoring")
    from incidents.lifecycle import update_incident

    incident, _ = update_incident(
        incident, actor=users["engineer"], changes={"data_categories": LEAKED}
    )
    record_decision(
        incident, actor=users["legal"], outcome="notify", reason="Bank accounts and passwords."
    )
    add_people(incident, users["legal"])
    return Incident.objects.get(pk=incident.pk)


def approved_campaign(incident: Incident, drafter: User, approver: User) -> NoticeCampaign:
    campaign, _ = draft_campaign(incident, actor=drafter)
    campaign, _ = approve_campaign(campaign, actor=approver)
    return campaign


def send_notices(
    until: Callable[[], bool] | None = None,
    *,
    max_seconds: float = 15.0,
    notices: Callable[[], NoticeSending] | None = None,
) -> None:
    """Run the real worker (alerts log-only) until nothing is due; with ``until``, again until
    it holds (retries scheduled a little later) or ``max_seconds`` pass."""
    end = time.monotonic() + max_seconds
    while True:
        worker = Worker(LogOnlyTransport(), notices=notices() if notices else None)
        worker.run(until_idle=True, max_seconds=max_seconds)
        if until is None or until() or time.monotonic() > end:
            return
        time.sleep(0.05)
