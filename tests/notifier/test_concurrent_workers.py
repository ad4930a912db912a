"""Several workers at once: no double sends; on PostgreSQL a commit wakes the worker (NOTIFY)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection

from incidents.lifecycle import create_incident
from notifier.channels import bot_channel
from notifier.models import Delivery
from notifier.outbox import derive_deliveries
from notifier.transports.botapi import BotApiTransport
from notifier.worker import Worker
from tests.conftest import make_user
from tests.notifier.conftest import link
from tests.notifier.fake_botapi import FakeBotAPI


@contextmanager
def worker_thread(fake: FakeBotAPI) -> Iterator[Worker]:
    worker = Worker(BotApiTransport(bot_channel("telegram")))

    def run() -> None:
        try:
            worker.run()
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop.set()
        thread.join(15)
        assert not thread.is_alive()


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_the_same_alert_twice(users, fake_telegram, tg_settings):
    tg_settings.NOTIFIER_POLL_SECONDS = 0.05
    chats = [6000 + n for n in range(30)]
    for n, chat in enumerate(chats):
        link(make_user(f"w{n}", "engineer"), chat)
    for n in range(3):
        create_incident(actor=users["admin"], data={"title": f"c{n}", "severity": "low"})
    derive_deliveries()
    fake_telegram.delay = 0.02  # keep sends in flight so the workers overlap
    with worker_thread(fake_telegram), worker_thread(fake_telegram):
        end = time.monotonic() + 20
        while Delivery.objects.sent().count() < 90 and time.monotonic() < end:
            time.sleep(0.05)
    per_chat = Counter(int(c.params["chat_id"]) for c in fake_telegram.sent())
    assert Delivery.objects.sent().count() == 90
    assert per_chat == {chat: 3 for chat in chats}


@pytest.mark.django_db(transaction=True)
def test_commit_wakes_listening_worker_promptly(
    require_postgres, users, fake_telegram, tg_settings
):
    link(make_user("oncall", "engineer"), 7001)
    with worker_thread(fake_telegram):
        time.sleep(0.5)  # the worker is idle in LISTEN (its fallback timeout is 5 s)
        started = time.monotonic()
        create_incident(actor=users["admin"], data={"title": "wake", "severity": "low"})
        end = started + 4
        while not fake_telegram.sent(7001) and time.monotonic() < end:
            time.sleep(0.005)
    assert fake_telegram.sent(7001)
    assert fake_telegram.sent(7001)[0].at - started < 1.0
