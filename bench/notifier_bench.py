"""Notifier benchmark on two channels at once, Telegram and Bale, each against its own fake Bot
API on loopback (issues 4 and 22).

    .venv/bin/python bench/notifier_bench.py [--db postgres|sqlite] [--samples 100] [--bulk 1000]

(1) commit-to-sendMessage latency of single alerts under the limits (p50/p99), on each channel:
    each sample is one transition whose only recipient is the incident's commander, linked on
    both channels; 20 people in rotation, 0.1 s apart.
(2) ``--bulk`` pending deliveries on each channel to 50 people, both channels at once: each
    channel's sustained throughput against its own ceiling (Telegram 30 msg/s, Bale 20 msg/s
    here), busiest one-second window, smallest gap between two messages to one chat, 429s
    provoked (each fake answers 429 whenever a client breaks its limits).
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

from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import RESULTS, ROOT, bench_env, fresh_postgres  # noqa: E402

TELEGRAM_RATE, BALE_RATE = 30, 20
BALE_CHAT_BASE = 8_000_000


def setup_env(db: str, var: Path) -> dict[str, str]:
    env = bench_env(
        var,
        TELEGRAM_GLOBAL_RATE="30",
        TELEGRAM_CHAT_INTERVAL_SECONDS="1",
        BALE_GLOBAL_RATE=str(BALE_RATE),
        BALE_CHAT_INTERVAL_SECONDS="1",
        EMAIL_ALERTS="false",
        # Required outside DEBUG since the register of the people affected (issue 18); unused here.
        PII_ENCRYPTION_KEY=Fernet.generate_key().decode(),
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

    fakes = {
        "telegram": FakeBotAPI(enforce_limits=True, global_limit=TELEGRAM_RATE).start(),
        "bale": FakeBotAPI(enforce_limits=True, global_limit=BALE_RATE).start(),
    }
    env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=fakes["telegram"].base_url)
    env.update(BALE_BOT_TOKEN=TOKEN, BALE_API_BASE_URL=fakes["bale"].base_url)
    engineers, admin, incidents = prepare(args.samples, args.chats)
    worker = subprocess.Popen([sys.executable, "manage.py", "run_notifier"], cwd=ROOT, env=env)
    try:
        time.sleep(3)  # Django start-up, then the worker idles in LISTEN / its poll
        latency = measure_latency(fakes, admin, incidents)
        throughput = measure_throughput(fakes, engineers, args.bulk)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        for fake in fakes.values():
            fake.stop()
    result = {
        "db": args.db,
        "channels": {"telegram": TELEGRAM_RATE, "bale": BALE_RATE},
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
    from notifier.models import BALE, ChatLink
    from notifier.outbox import derive_deliveries
    from tests.conftest import make_user
    from tests.notifier.conftest import link

    admin = make_user("bench-admin", "admin")
    engineers = [make_user(f"bench-eng{n}", "engineer") for n in range(chats)]
    # Incidents first, each commanded by one of 20 engineers, and their "created" events consumed
    # before anyone links: then each later transition alerts exactly one person, its commander,
    # on both channels.
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
        # As the Bale bot's /start links a chat (linking is the bots' part, not measured here).
        chat = BALE_CHAT_BASE + n
        ChatLink.objects.create(channel=BALE, user=user, account_id=chat, chat_id=chat)
    return engineers, admin, incidents


def measure_latency(fakes: dict, admin: object, incidents: list) -> dict:
    from incidents.lifecycle import apply_transition

    samples: dict[str, list[float]] = {name: [] for name in fakes}
    for incident in incidents:
        n = int(incident.commander.username.removeprefix("bench-eng"))
        chats = {"telegram": 9_000_000 + n, "bale": BALE_CHAT_BASE + n}
        before = {name: len(fake.sent(chats[name])) for name, fake in fakes.items()}
        apply_transition(incident, "start_scoping", actor=admin)
        committed = time.monotonic()
        end = committed + 5
        waiting = set(fakes)
        while waiting and time.monotonic() < end:
            for name in list(waiting):
                arrivals = fakes[name].sent(chats[name])
                if len(arrivals) > before[name]:
                    samples[name].append((arrivals[-1].at - committed) * 1000)
                    waiting.discard(name)
            time.sleep(0.0005)
        time.sleep(0.1)
    return {
        name: {
            "samples": len(values),
            "lost": len(incidents) - len(values),
            "p50": round(percentile(values, 0.5), 2),
            "p99": round(percentile(values, 0.99), 2),
            "max": round(max(values), 2),
        }
        for name, values in samples.items()
    }


def measure_throughput(fakes: dict, engineers: list, bulk: int) -> dict:
    from django.db import transaction

    from notifier.outbox import enqueue
    from notifier.recipients import reach

    for fake in fakes.values():
        fake.calls.clear()
    found = reach(email=False)
    routes = {
        name: [r for u in engineers for r in found.routes[u.pk] if r.channel == name]
        for name in fakes
    }
    with transaction.atomic():
        for name in fakes:
            for n in range(bulk):
                route = routes[name][n % len(routes[name])]
                enqueue(kind="bench", key=f"bench:{name}:{n}", route=route, text=f"bulk {n}")
    end = time.monotonic() + bulk / BALE_RATE * 2 + 30
    while any(len(f.sent()) < bulk for f in fakes.values()) and time.monotonic() < end:
        time.sleep(0.05)
    rates = {"telegram": TELEGRAM_RATE, "bale": BALE_RATE}
    return {name: channel_stats(fake, bulk, rates[name]) for name, fake in fakes.items()}


def channel_stats(fake: object, bulk: int, ceiling: int) -> dict:
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
        "seconds": round(times[-1] - times[0], 2) if times else 0.0,
        "msgs_per_s": round(rate, 2),
        "ceiling": ceiling,
        "percent_of_ceiling": round(rate / ceiling * 100, 1),
        "busiest_1s_window": busiest,
        "min_gap_same_chat_s": round(min(gaps), 3) if gaps else None,
        "http_429": sum(1 for c in fake.calls if c.status == 429),
        "stats_gap_median_s": round(statistics.median(gaps), 3) if gaps else None,
    }


if __name__ == "__main__":
    sys.exit(main())
