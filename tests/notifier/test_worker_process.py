"""The real `manage.py run_notifier` process: killed mid-batch loses nothing; SIGTERM is clean."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from incidents.lifecycle import create_incident
from notifier.models import Delivery
from notifier.outbox import derive_deliveries
from tests.conftest import make_user
from tests.notifier.conftest import link
from tests.notifier.fake_botapi import TOKEN, FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(fake: FakeBotAPI, **extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "TELEGRAM_CHAT_INTERVAL_SECONDS": "0",
        "NOTIFIER_POLL_SECONDS": "0.1",
        **extra,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_notifier"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(predicate: Any, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.django_db(transaction=True)
def test_alert_survives_worker_killed_mid_batch(users, fake_telegram, run_worker, tg_settings):
    chats = [4000 + n for n in range(10)]
    for n, chat in enumerate(chats):
        link(make_user(f"oncall{n}", "engineer"), chat)
    create_incident(actor=users["admin"], data={"title": "kill test", "severity": "low"})
    derive_deliveries()
    fake_telegram.delay = 1.0  # Telegram accepts, but answers slowly: sends are in flight
    worker = start_worker(
        fake_telegram,
        TELEGRAM_GLOBAL_RATE="5",
        NOTIFIER_LEASE_SECONDS="1",
        TELEGRAM_TIMEOUT_SECONDS="5",
    )
    try:
        assert wait_for(lambda: len(fake_telegram.attempts()) >= 3, 20), worker.stdout
        worker.send_signal(signal.SIGKILL)  # no chance to record anything
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    in_flight_at_kill = len(fake_telegram.attempts())
    assert Delivery.objects.sent().count() < 10
    fake_telegram.delay = 0.0
    run_worker(until=lambda: Delivery.objects.sent().count() == 10, max_seconds=15)
    assert Delivery.objects.sent().count() == 10
    per_chat = Counter(int(c.params["chat_id"]) for c in fake_telegram.sent())
    assert set(per_chat) == set(chats)  # every alert delivered
    assert max(per_chat.values()) <= 2  # at most one duplicate, and only for in-flight sends
    assert sum(per_chat.values()) - len(chats) <= in_flight_at_kill


@contextmanager
def logged_worker(fake: FakeBotAPI, **extra: str) -> Iterator[tuple[subprocess.Popen, list[str]]]:
    """A worker at INFO and the lines it logs so far. The block ends it with SIGTERM, which it
    must obey with exit status 0."""
    worker = start_worker(fake, LOG_LEVEL="INFO", **extra)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(worker.stdout), daemon=True)
    reader.start()
    try:
        yield worker, lines
        worker.send_signal(signal.SIGTERM)
        worker.wait(15)
    finally:
        if worker.poll() is None:
            worker.kill()
    reader.join(5)
    assert worker.returncode == 0, lines


@pytest.mark.django_db(transaction=True)
def test_worker_stops_cleanly_on_sigterm(fake_telegram, tg_settings):
    with logged_worker(fake_telegram) as (_, lines):
        # SIGTERM only once the handler is installed (the start-up log line comes after it)
        assert wait_for(lambda: any("notifier worker starting" in x for x in lines), 30), lines
        time.sleep(0.3)
    assert any("notifier worker stopped" in x for x in lines)
