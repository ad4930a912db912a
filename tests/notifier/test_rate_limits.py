"""Telegram's flood limits are respected without Telegram having to say so."""

from __future__ import annotations

import time

from incidents.lifecycle import create_incident
from notifier.models import Delivery
from notifier.outbox import derive_deliveries
from notifier.ratelimit import RateLimiter


def test_limiter_schedules_per_chat_and_global_slots():
    limiter = RateLimiter(per_second=10, chat_interval=1.0)
    slots = [limiter.reserve(chat, now=0.0) for chat in (1, 2, 3, 1)]
    gap = 1 / (10 * RateLimiter.MARGIN)
    assert slots[:3] == [0.0, gap, 2 * gap]
    assert slots[3] == 1.0  # chat 1 again waits its full second
    t0 = time.monotonic()
    limiter.pause_chat(2, 30)  # a 429 for chat 2
    assert limiter.reserve(3) < t0 + 1  # other chats go on
    assert limiter.reserve(2) >= t0 + 30


def test_one_chat_gets_at_most_one_message_per_second(users, linked, run_worker,
                                                      fake_telegram, tg_settings):
    tg_settings.TELEGRAM_CHAT_INTERVAL_SECONDS = 1.0
    linked["engineer2"].delete()
    for n in range(3):
        create_incident(actor=users["admin"], data={"title": f"t{n}", "severity": "low"})
    run_worker(until=lambda: Delivery.objects.sent().count() == 3, max_seconds=8)
    times = [c.at for c in fake_telegram.sent(1001)]
    assert len(times) == 3
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:], strict=False))


def test_overall_rate_never_exceeds_the_ceiling(users, run_worker, fake_telegram, tg_settings):
    from tests.conftest import make_user
    from tests.notifier.conftest import link

    tg_settings.TELEGRAM_GLOBAL_RATE = 20.0
    for n in range(40):
        link(make_user(f"eng{n}", "engineer"), 3000 + n)
    create_incident(actor=users["admin"], data={"title": "all hands", "severity": "low"})
    derive_deliveries()
    run_worker(until=lambda: Delivery.objects.sent().count() == 40, max_seconds=10)
    times = sorted(c.at for c in fake_telegram.sent())
    assert len(times) == 40
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 20
    assert times[-1] - times[0] >= 1.9  # 40 messages at 20/s cannot finish sooner
