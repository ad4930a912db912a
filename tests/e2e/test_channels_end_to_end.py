"""Issue 22's "done when", end to end on real loopback servers: a critical incident opened by an
Alertmanager webhook reaches the on-call engineer on Bale (a fake Bale Bot API), Telegram (a
fake Telegram Bot API) and email (a real SMTP server), escalates once per level of its chain
while nobody acknowledges, and an outbound webhook receiver gets each event exactly once.

Everything between the HTTP request and the servers is the real thing: the integration's
endpoint, the event log, the outbox, the worker with its transports (python-telegram-bot's HTTP
client, Django's SMTP backend, httpx for the webhook)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from incidents.acknowledgements import ESCALATED
from incidents.integrations import add_integration, path_of
from incidents.models import Event, Incident
from notifier.channels import bot_channel
from notifier.escalation import escalate_due
from notifier.models import BALE, TELEGRAM, Delivery, EscalationChain, EscalationStep
from notifier.oncall import Schedule, on_call_now
from notifier.transports.botapi import BotApiTransport
from notifier.transports.email_alerts import EmailAlertTransport
from notifier.webhooks import hook_secret, register_webhook
from notifier.worker import Worker
from tests.conftest import make_user
from tests.notices.servers import SmtpServer
from tests.notifier.conftest import bale_settings as bale_settings
from tests.notifier.conftest import email_to, link
from tests.notifier.conftest import fake_bale as fake_bale
from tests.notifier.conftest import fake_telegram as fake_telegram
from tests.notifier.conftest import hook_settings as hook_settings
from tests.notifier.conftest import receiver as receiver
from tests.notifier.conftest import tg_settings as tg_settings
from tests.notifier.fake_botapi import FakeBotAPI
from tests.notifier.oncall_helpers import rotation
from tests.notifier.webhook_helpers import docs_verify
from tests.notifier.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)
PAYLOAD = Path(__file__).resolve().parents[1] / "incidents" / "payloads" / "alertmanager_v4.json"
ONCALL_TG, ONCALL_BALE, BACKUP_TG, ADMIN_TG = 5001, 6001, 5002, 5003


@pytest.fixture
def smtp(tg_settings: Any) -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        email_to(tg_settings, server)
        yield server


@pytest.fixture
def send(tg_settings: Any, bale_settings: Any, smtp: SmtpServer) -> Callable[..., None]:
    """Run the worker, every channel on, until nothing is due (and ``until`` holds)."""

    def run(until: Callable[[], bool] | None = None, max_seconds: float = 15.0) -> None:
        end = time.monotonic() + max_seconds
        while True:
            transports = {
                TELEGRAM: BotApiTransport(bot_channel(TELEGRAM)),
                BALE: BotApiTransport(bot_channel(BALE)),
                "email": EmailAlertTransport(),
            }
            Worker(transports=transports).run(until_idle=True, max_seconds=max_seconds)
            if until is None or until() or time.monotonic() > end:
                return
            time.sleep(0.05)

    return run


@pytest.fixture
def on_call(users: dict[str, Any]) -> dict[str, Any]:
    """An on-call engineer linked on Telegram and Bale with an email address, the next one in
    the rotation on Telegram, an admin on Telegram, and a chain for critical incidents: the
    on-call engineer, then the next one, then the commander's manager (else the admins)."""
    oncall = make_user("oncall", "engineer")
    oncall.email = "oncall@corp.example"
    oncall.save()
    backup = make_user("backup", "engineer")
    link(oncall, ONCALL_TG)
    link(oncall, ONCALL_BALE, channel=BALE)
    link(backup, BACKUP_TG)
    link(users["admin"], ADMIN_TG)
    # Daily shifts from today's date, oncall first: whoever the hand-over hour, one of the two
    # is on call now; the test reads which from the schedule rather than assuming.
    team = rotation("platform", [oncall, backup], shift="daily", starts_on=dt.date(2026, 1, 1))
    chain = EscalationChain.objects.create(name="critical", severities=["critical"])
    EscalationStep.objects.create(chain=chain, level=1, target="on_call", rotation=team)
    EscalationStep.objects.create(chain=chain, level=2, target="next_on_call", rotation=team)
    EscalationStep.objects.create(chain=chain, level=3, target="manager")
    return {"oncall": oncall, "backup": backup, "rotation": team}


def chats_told(fake: FakeBotAPI, chat_id: int) -> list[str]:
    return [call.params["text"] for call in fake.sent(chat_id)]


def test_alertmanager_critical_reaches_on_call_everywhere_escalates_and_hooks_get_each_event(
    settings: Any,
    users: dict[str, Any],
    on_call: dict[str, Any],
    send: Callable[..., None],
    smtp: SmtpServer,
    hook_settings: Any,
    receiver: WebhookReceiver,
    fake_telegram: FakeBotAPI,
    fake_bale: FakeBotAPI,
) -> None:
    settings.ESCALATION_MINUTES = 10
    hook, _ = register_webhook(name="siem", url=receiver.url)
    integration, key = add_integration("prometheus", kind="alertmanager")
    body = json.loads(PAYLOAD.read_text())
    for alert in body["alerts"]:
        alert["labels"]["severity"] = "critical"

    answer = Client().post(path_of(key), data=body, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert len(answer.json()["opened"]) == 1
    incident = Incident.objects.get(reference=answer.json()["opened"][0])
    assert incident.severity == "critical"

    # Whoever the rotation has on call now heard of it on every channel they have.
    [now_on_call] = on_call_now()
    engineer = now_on_call.user
    assert engineer in (on_call["oncall"], on_call["backup"])
    send()
    oncall = on_call["oncall"]
    assert any(incident.reference in text for text in chats_told(fake_telegram, ONCALL_TG))
    assert any(incident.reference in text for text in chats_told(fake_bale, ONCALL_BALE))
    assert "parse_mode" not in fake_bale.sent(ONCALL_BALE)[0].params  # Bale: plain text
    mails = list(smtp.mailbox.messages)
    assert [m["To"] for m in mails] == [oncall.email]
    assert incident.reference in mails[0]["Subject"]

    # Nobody acknowledges: each level fires once, to the people it names, on their channels.
    created = incident.created_at
    for level in (1, 2, 3):
        moment = created + dt.timedelta(minutes=10 * level, seconds=1)
        assert escalate_due(moment) == 1
        assert escalate_due(moment) == 0  # the same level never twice
    assert escalate_due(created + dt.timedelta(hours=6)) == 0  # the chain has three levels
    send()
    levels = Event.objects.filter(incident=incident, kind=ESCALATED).order_by("seq")
    notified = [(e.data["level"], e.data["target"], e.data["notify"]) for e in levels]
    # Whom levels 1 and 2 call, read from the schedule at their moments (a hand-over may fall
    # between them).
    schedule = Schedule.of(on_call["rotation"])
    first = schedule.on_call(created + dt.timedelta(minutes=10, seconds=1))
    second = schedule.next_on_call(created + dt.timedelta(minutes=20, seconds=1))[0]
    assert notified == [
        (1, "on_call", [first.pk]),
        (2, "next_on_call", [second.pk]),
        (3, "admins", [users["admin"].pk]),  # the incident has no commander with a manager
    ]
    escalations = Delivery.objects.filter(kind=ESCALATED, status=Delivery.SENT)
    told = {(d.user_id, d.channel) for d in escalations}
    assert (users["admin"].pk, TELEGRAM) in told
    assert {(first.pk, TELEGRAM), (second.pk, TELEGRAM)} <= told
    assert (oncall.pk, BALE) in told and (oncall.pk, "email") in told
    assert not Delivery.objects.exclude(status=Delivery.SENT).exclude(channel="webhook").exists()

    # The webhook receiver got every event of the log exactly once, each signed.
    seqs = list(Event.objects.order_by("seq").values_list("seq", flat=True))
    send(until=lambda: len(receiver.requests) >= len(seqs))
    got = receiver.wait_for(len(seqs))
    assert sorted(json.loads(r.body)["id"] for r in got) == seqs
    assert len({r.delivery for r in got}) == len(got)
    assert all(docs_verify()(hook_secret(hook), r.signature, r.body) for r in got)
