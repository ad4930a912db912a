"""Telegram and Bale at once (issue 22): two fake Bot API servers on loopback, one worker. A
person linked on both gets both; each channel keeps its own rate limit, so a slow one never
holds the other up; a chat gone on one channel is deactivated on that channel only."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from incidents.legal.obligations import seed_rules
from incidents.lifecycle import create_incident
from notifier.channels import bot_channel
from notifier.models import BALE, TELEGRAM, ChatLink, Delivery, LinkAudit
from notifier.reminders import enqueue_reminders
from notifier.transports.botapi import BotApiTransport
from notifier.worker import Worker
from tests.conftest import make_user
from tests.notifier.conftest import link
from tests.notifier.fake_botapi import FakeBotAPI


def link_bale(user: User, chat_id: int) -> ChatLink:
    """A Bale link made the way a person makes one: a token, then /start to the Bale bot."""
    return link(user, chat_id, channel=BALE)


@pytest.fixture
def both(tg_settings: Any, bale_settings: Any, fake_telegram: FakeBotAPI) -> Callable[..., None]:
    tg_settings.EMAIL_ALERTS = False

    def run(until: Callable[[], bool] | None = None, max_seconds: float = 15.0) -> None:
        end = time.monotonic() + max_seconds
        while True:
            transports = {
                TELEGRAM: BotApiTransport(bot_channel(TELEGRAM)),
                BALE: BotApiTransport(bot_channel(BALE)),
            }
            Worker(transports=transports).run(until_idle=True, max_seconds=max_seconds)
            if until is None or until() or time.monotonic() > end:
                return
            time.sleep(0.02)

    return run


def test_a_person_linked_on_both_gets_the_alert_on_both(users, both, fake_telegram, fake_bale):
    person = make_user("oncall", "engineer")
    link(person, 4242)
    link_bale(person, 9_100_000_001)
    incident, event = create_incident(
        actor=users["admin"], data={"title": "Both", "severity": "high"}
    )
    both()
    (tg,) = fake_telegram.sent(4242)
    (bale,) = fake_bale.sent(9_100_000_001)
    # The same alert; Bale gets it as plain text (docs/channels.md: no HTML parse mode there).
    assert incident.reference in tg.params["text"] and incident.reference in bale.params["text"]
    assert tg.params["parse_mode"] == "HTML" and "parse_mode" not in bale.params
    assert "<b>" not in bale.params["text"]
    assert tg.params["reply_markup"] == bale.params["reply_markup"]
    keys = set(Delivery.objects.filter(user=person).values_list("key", "status"))
    assert keys == {
        (f"event:{event.seq}:4242", "sent"),
        (f"event:{event.seq}:bale:9100000001", "sent"),
    }


def test_each_channel_keeps_its_own_rate_limit(users, both, tg_settings, fake_telegram, fake_bale):
    # Bale allows 3 messages a second here and answers 429 to a fourth; Telegram is fast. The
    # worker is configured under it, as a deployment would be: at exactly 3 the first
    # request's connection set-up could put four arrivals into one second (a CI flake).
    tg_settings.BALE_GLOBAL_RATE = 2.5
    fake_bale.enforce_limits, fake_bale.global_limit = True, 3
    people = [make_user(f"eng-{n}", "engineer") for n in range(6)]
    for n, person in enumerate(people):
        link(person, 6000 + n)
        link_bale(person, 7000 + n)
    for n in range(2):
        create_incident(actor=users["admin"], data={"title": f"I{n}", "severity": "high"})
    bale_rows = Delivery.objects.filter(channel=BALE)
    both(until=lambda: not bale_rows.exclude(status=Delivery.SENT).exists())
    assert len(fake_telegram.sent()) == 12 and len(fake_bale.sent()) == 12
    assert not [c for c in fake_bale.attempts() if c.status == 429]  # Bale's limit was kept
    # Telegram did not queue behind Bale's slower rate: it was done before Bale's fourth.
    bale_times = sorted(c.at for c in fake_bale.sent())
    assert max(c.at for c in fake_telegram.sent()) < bale_times[3]


def test_a_403_on_one_channel_deactivates_only_that_link(users, both, fake_telegram, fake_bale):
    person = make_user("oncall", "engineer")
    # the same number on both channels: two different chats all the same
    link(person, 5005)
    link_bale(person, 5005)
    fake_bale.script_chat(5005, "403")
    create_incident(actor=users["admin"], data={"title": "x", "severity": "high"})
    both()
    bale, tg = ChatLink.objects.get(channel=BALE), ChatLink.objects.get(channel=TELEGRAM)
    assert not bale.active and "blocked" in bale.deactivated_reason
    assert tg.active
    assert Delivery.objects.get(channel=BALE).status == Delivery.DEAD
    assert Delivery.objects.get(channel=TELEGRAM).status == Delivery.SENT
    audit = LinkAudit.objects.get(action="deactivated")
    assert audit.channel == BALE and audit.chat_id == 5005
    # later alerts go to Telegram only
    create_incident(actor=users["admin"], data={"title": "y", "severity": "high"})
    both()
    assert len(fake_telegram.sent(5005)) == 2 and len(fake_bale.sent(5005)) == 0


def test_a_legal_deadline_reminder_goes_to_every_chat_linked(
    users, linked, incident_in, both, fake_telegram, fake_bale
):
    seed_rules()
    link_bale(users["legal"], 8802)
    now = timezone.now()
    incident = incident_in("restoring", aware_at=now, detected_at=now)
    queued = enqueue_reminders(now + dt.timedelta(minutes=1))
    assert queued >= 2 and enqueue_reminders(now + dt.timedelta(minutes=1)) == 0
    keys = set(Delivery.objects.filter(kind="reminder").values_list("channel", "key"))
    telegram_keys = {k for c, k in keys if c == TELEGRAM}
    # Telegram's keys as before channels; Bale's the same with the channel after them
    assert {c for c, _k in keys} == {TELEGRAM, BALE}
    assert {k for c, k in keys if c == BALE} == {
        k.replace(":1002", ":8802") + ":bale" for k in telegram_keys
    }
    both()
    for fake, chat in ((fake_telegram, 1002), (fake_bale, 8802)):
        sent = [c for c in fake.sent(chat) if incident.reference in c.params["text"]]
        assert sent


def test_a_bale_alert_waits_queued_while_bale_has_no_token(
    users, tg_settings, run_worker, fake_telegram
):
    tg_settings.BALE_BOT_TOKEN = ""
    person = make_user("oncall", "engineer")
    link(person, 4343)
    link_bale(person, 4343)
    create_incident(actor=users["admin"], data={"title": "x", "severity": "high"})
    run_worker()
    assert len(fake_telegram.sent(4343)) == 1
    bale = Delivery.objects.get(channel=BALE)
    assert bale.status == Delivery.PENDING and bale.attempts == 0  # not dropped, not "sent"
