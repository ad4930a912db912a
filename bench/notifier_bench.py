"""Telegram notifier benchmark against the fake Bot API on loopback (issue 4).

    .venv/bin/python bench/notifier_bench.py [--db postgres|sqlite] [--samples 100] [--bulk 1000]

(1) commit-to-sendMessage latency of single alerts under the limits (p50/p99): each sample is one
    transition whose only recipient is the incident's commander, 20 chats in rotation, 0.1 s apart.
(2) 1,000 pending deliveries to 50 chats: sustained throughput against the 30 msg/s ceiling,
    busiest one-second window, smallest gap between two messages to one chat, 429s provoked (the
    fake answers 429 whenever a client breaks a limit).
The worker is the real `manage.py run_notifier` in its own process; results go to
bench/results/notifier-<db>.json and are summarised in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import RESULTS, ROOT, bench_env, fresh_postgres  # noqa: E402


def setup_env(db: str, var: Path) -> dict[str, str]:
    env = bench_env(
        var,
        TELEGRAM_GLOBAL_RATE="30",
        TELEGRAM_CHAT_INTERVAL_SECONDS="1",
        NOTIFIER_POLL_SECONDS="0.02",
        PUBLIC_BASE_URL="https://desk.example.com",
    )
    if db == "postgres":
        env["DATABASE_URL"] = fresh_postgres("bench_notifier")
    os.environ.update(env)
    return env


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--bulk", type=int, default=1000)
    parser.add_argument("--chats", type=int, default=50)
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="bench-notifier-"))
    env = setup_env(args.db, var)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.notifier.fake_botapi import TOKEN, FakeBotAPI

    fake = FakeBotAPI(enforce_limits=True, global_limit=30).start()
    env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fake.base_url)
    engineers, admin, incidents = prepare(args.samples, args.chats)
    worker = subprocess.Popen([sys.executable, "manage.py", "run_notifier"], cwd=ROOT, env=env)
    try:
        time.sleep(3)  # Django start-up, then the worker idles in LISTEN / its poll
        latency = measure_latency(fake, admin, incidents)
        throughput = measure_throughput(fake, engineers, args.bulk)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        fake.stop()
    result = {
        "db": args.db,
        "latency_ms": latency,
        "throughput": throughput,
        "worker_exit_code": worker.returncode,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"notifier-{args.db}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


def prepare(samples: int, chats: int) -> tuple[list, object, list]:
    from incidents.lifecycle import create_incident
    from notifier.outbox import derive_deliveries
    from tests.conftest import make_user
    from tests.notifier.conftest import link

    admin = make_user("bench-admin", "admin")
    engineers = [make_user(f"bench-eng{n}", "engineer") for n in range(chats)]
    # Incidents first, each commanded by one of 20 engineers, and their "created" events consumed
    # before anyone links: then each later transition alerts exactly one chat, its commander.
    incidents = [
        create_incident(
            actor=admin,
            data={"title": f"bench {n}", "severity": "low", "commander": engineers[n % 20]},
        )[0]
        for n in range(samples)
    ]
    derive_deliveries(limit=samples + 10)
    for n, user in enumerate(engineers):
        link(user, 9_000_000 + n)
    return engineers, admin, incidents


def measure_latency(fake: object, admin: object, incidents: list) -> dict:
    from incidents.lifecycle import apply_transition

    samples = []
    for incident in incidents:
        chat = 9_000_000 + int(incident.commander.username.removeprefix("bench-eng"))
        before = len(fake.sent(chat))
        apply_transition(incident, "start_scoping", actor=admin)
        committed = time.monotonic()
        end = committed + 5
        while len(fake.sent(chat)) == before and time.monotonic() < end:
            time.sleep(0.0005)
        arrivals = fake.sent(chat)
        if len(arrivals) > before:
            samples.append((arrivals[-1].at - committed) * 1000)
        time.sleep(0.1)
    return {
        "samples": len(samples),
        "lost": len(incidents) - len(samples),
        "p50": round(percentile(samples, 0.5), 2),
        "p99": round(percentile(samples, 0.99), 2),
        "max": round(max(samples), 2),
    }


def measure_throughput(fake: object, engineers: list, bulk: int) -> dict:
    from django.db import transaction

    from notifier.models import ChatLink
    from notifier.outbox import enqueue

    fake.calls.clear()
    links = list(ChatLink.objects.filter(user__in=engineers).select_related("user"))
    with transaction.atomic():
        for n in range(bulk):
            link = links[n % len(links)]
            enqueue(kind="bench", key=f"bench:{n}", link=link, text=f"bulk message {n}")
    started = time.monotonic()
    end = started + bulk / 30 * 2 + 30
    while len(fake.sent()) < bulk and time.monotonic() < end:
        time.sleep(0.05)
    sent = fake.sent()
    times = sorted(c.at for c in sent)
    by_chat: dict[int, list[float]] = {}
    for c in sent:
        by_chat.setdefault(int(c.params["chat_id"]), []).append(c.at)
    gaps = []
    for ts in by_chat.values():
        ts.sort()
        gaps += [b - a for a, b in zip(ts, ts[1:], strict=False)]
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    busiest = max(sum(1 for t in times if s <= t < s + 1.0) for s in times) if times else 0
    return {
        "delivered": len(sent),
        "of": bulk,
        "seconds": round(times[-1] - times[0], 2),
        "msgs_per_s": round(rate, 2),
        "percent_of_30": round(rate / 30 * 100, 1),
        "busiest_1s_window": busiest,
        "min_gap_same_chat_s": round(min(gaps), 3),
        "http_429": sum(1 for c in fake.calls if c.status == 429),
        "stats_gap_median_s": round(statistics.median(gaps), 3),
    }


if __name__ == "__main__":
    sys.exit(main())
