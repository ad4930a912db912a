"""Alerts by email to responders (issue 22) over real SMTP (aiosmtpd on loopback): in the
recipient's language, no personal data, a 4xx tried again, a 5xx dead at once (and nothing
deactivated), nobody without an address."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.contrib.auth.models import User

from core.models import Profile
from incidents.lifecycle import create_incident
from notifier.channels import bot_channel
from notifier.models import ChatLink, Delivery
from notifier.transports.botapi import BotApiTransport
from notifier.transports.email_alerts import EmailAlertTransport
from notifier.worker import Worker
from tests.notices.servers import Mailbox, SmtpServer
from tests.notifier.conftest import email_to
from tests.notifier.fake_botapi import FakeBotAPI
from tests.notifier.test_scrubber import assert_no_personal_data


@dataclass
class BusyMailbox(Mailbox):
    """Answers the next ``defer`` recipients 451 (try again later), like a greylisting server."""

    defer: int = 0
    taken_at: list[float] = field(default_factory=list)  # time.monotonic() of each message taken

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        self.taken_at.append(time.monotonic())
        return answer

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.defer > 0:
            self.defer -= 1
            return "451 4.7.1 Greylisted, try again later"
        return await super().handle_RCPT(server, session, envelope, address, options)


@pytest.fixture
def smtp(tg_settings: Any) -> Iterator[SmtpServer]:
    with SmtpServer(BusyMailbox()) as server:
        email_to(tg_settings, server)
        yield server


@pytest.fixture
def send(smtp: SmtpServer, fake_telegram: FakeBotAPI) -> Callable[..., None]:
    """Run workers (Telegram to the fake, email to the loopback SMTP server) until ``until``
    holds or nothing is due."""

    def run(until: Callable[[], bool] | None = None, max_seconds: float = 10.0) -> None:
        end = time.monotonic() + max_seconds
        while True:
            transports = {
                "telegram": BotApiTransport(bot_channel("telegram")),
                "email": EmailAlertTransport(),
            }
            Worker(transports=transports).run(until_idle=True, max_seconds=max_seconds)
            if until is None or until() or time.monotonic() > end:
                return
            time.sleep(0.05)

    return run


def with_email(user: User, address: str, language: str = "en") -> User:
    user.email = address
    user.save()
    Profile.objects.update_or_create(user=user, defaults={"language": language})
    return user


LEAKY_TITLE = "Dump of ali.rezaei@example.co.ir and 0912 345 67 89 found"


def test_critical_alert_by_email_in_each_recipients_language_without_personal_data(
    users, linked, smtp, send
):
    with_email(users["engineer2"], "e2@corp.example", "en")
    with_email(users["executive"], "exec@corp.example", "fa")
    incident, _ = create_incident(
        actor=users["admin"], data={"title": LEAKY_TITLE, "severity": "critical"}
    )
    send()
    (en,) = smtp.mailbox.to("e2@corp.example")
    (fa,) = smtp.mailbox.to("exec@corp.example")
    assert en["From"] == "desk@corp.example" and not en.is_multipart()
    assert en["Content-Language"] == "en" and fa["Content-Language"] == "fa"
    assert incident.reference in en["Subject"] and "CRITICAL" in en["Subject"]
    en_text, fa_text = en.get_content(), fa.get_content()
    assert "Severity: Critical" in en_text
    assert "شدت" in fa_text and "Severity" not in fa_text
    url = f"https://desk.example.com/incidents/{incident.reference}/"
    assert url in en_text and url in fa_text
    for text in (en_text, fa_text, en["Subject"], fa["Subject"]):
        assert_no_personal_data(text)
        assert "ali.rezaei" not in text
    rows = Delivery.objects.filter(channel="email")
    assert rows.count() == 2 and set(rows.values_list("status", flat=True)) == {Delivery.SENT}
    # the chats got theirs as before, on their own transport
    assert len(linked) and Delivery.objects.filter(channel="telegram", status="sent").exists()


def test_below_the_threshold_no_email_by_default(users, linked, smtp, send):
    with_email(users["engineer2"], "e2@corp.example")
    create_incident(actor=users["admin"], data={"title": "High", "severity": "high"})
    send()
    assert smtp.mailbox.count() == 0 and not Delivery.objects.filter(channel="email").exists()


def test_a_4xx_answer_is_tried_again_and_delivered_once(users, linked, smtp, send):
    with_email(users["engineer2"], "e2@corp.example")
    smtp.mailbox.defer = 1
    create_incident(actor=users["admin"], data={"title": "C", "severity": "critical"})
    row = lambda: Delivery.objects.get(channel="email")  # noqa: E731
    send(until=lambda: row().status == Delivery.SENT)
    assert row().status == Delivery.SENT and row().attempts == 2
    assert len(smtp.mailbox.to("e2@corp.example")) == 1


def test_a_5xx_refusal_is_dead_at_once_and_deactivates_nothing(users, linked, smtp, send):
    with_email(users["engineer2"], "gone@corp.example")
    smtp.mailbox.refuse = {"gone@corp.example"}
    create_incident(actor=users["admin"], data={"title": "C", "severity": "critical"})
    send()
    row = Delivery.objects.get(channel="email")
    assert row.status == Delivery.DEAD and row.attempts == 1 and "550" in row.last_error
    assert "gone@corp.example" not in row.last_error  # the address is never stored in an error
    assert ChatLink.objects.get(user=users["engineer2"]).active


def test_a_recipient_without_an_address_gets_no_email(users, linked, smtp, send):
    with_email(users["executive"], "exec@corp.example")  # engineer2 has none
    create_incident(actor=users["admin"], data={"title": "C", "severity": "critical"})
    send()
    assert list(
        Delivery.objects.filter(channel="email").values_list("user__username", flat=True)
    ) == ["executive"]
    assert smtp.mailbox.count() == 1


def test_an_address_removed_after_queueing_is_dead_not_sent_elsewhere(users, linked, smtp, send):
    from notifier.outbox import derive_deliveries

    user = with_email(users["engineer2"], "e2@corp.example")
    create_incident(actor=users["admin"], data={"title": "C", "severity": "critical"})
    derive_deliveries()
    user.email = ""
    user.save()
    send()
    assert Delivery.objects.get(channel="email").status == Delivery.DEAD
    assert smtp.mailbox.count() == 0


def test_a_slow_mail_server_never_holds_up_the_chat_alerts(
    users, linked, smtp, send, fake_telegram
):
    with_email(users["engineer2"], "e2@corp.example")
    smtp.mailbox.delay = 1.5  # each message waits this long before the server takes it
    create_incident(actor=users["admin"], data={"title": "C", "severity": "critical"})
    send()
    assert smtp.mailbox.taken_at and fake_telegram.sent()
    # every chat alert was out before the mail server had taken the one email
    assert max(c.at for c in fake_telegram.sent()) < min(smtp.mailbox.taken_at)
    assert Delivery.objects.get(channel="email").status == Delivery.SENT
