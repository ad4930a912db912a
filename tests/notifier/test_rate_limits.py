"""Telegram's flood limits are respected without Telegram having to say so."""

from __future__ import annotations

import asyncio
import time

from incidents.lifecycle import create_incident
from notifier.models import Delivery
from notifier.outbox import derive_deliveries
from notifier.ratelimit import RateLimiter


async def test_limiter_spaces_messages_per_chat_and_overall():
    limiter = RateLimiter(per_second=20, chat_interval=0.3)
    times: dict[int, list[float]] = {1: [], 2: [], 3: []}

    async def send(chat: int) -> None:
        await limiter.wait(chat)
        times[chat].append(time.monotonic())

    await asyncio.gather(*(send(chat) for chat in (1, 2, 3, 1, 1)))
    everything = sorted(t for ts in times.values() for t in ts)
    gap = 1 / 20
    assert all(b - a >= gap * 0.99 for a, b in zip(everything, everything[1:], strict=False))
    assert all(b - a >= 0.3 for a, b in zip(times[1], times[1][1:], strict=False))
    assert times[2][0] - everything[0] < 0.3  # chat 2 did not wait behind chat 1's second


async def test_paused_chat_waits_while_others_go_on():
    limiter = RateLimiter(per_second=100, chat_interval=0.0)
    limiter.pause_chat(2, 0.5)
    t0 = time.monotonic()
    await limiter.wait(3)
    assert time.monotonic() - t0 < 0.2
    await limiter.wait(2)
    assert time.monotonic() - t0 >= 0.5


def test_one_chat_gets_at_most_one_message_per_second(
    users, linked, run_worker, fake_telegram, tg_settings
):
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
    # 21 messages at 20/s need a full second; arrival times on a loaded 2-core machine jitter
    # by a few milliseconds, so allow 50 ms of it (unlimited, all 40 arrive within ~0.1 s).
    spans = [times[i + 20] - times[i] for i in range(len(times) - 20)]
    assert min(spans) >= 0.95
    assert times[-1] - times[0] >= 1.9
