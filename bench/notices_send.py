"""How fast the notifier worker sends a notice campaign by email, against the configured rate
(issue 18 part 3).

    .venv/bin/python bench/notices_send.py [--people 5000] [--db sqlite|postgres]
        [--limited-rate 1200] [--limited-seconds 90]

The real ``manage.py run_notifier`` in its own process sends to a real SMTP server (aiosmtpd) on
127.0.0.1 run by this script, which counts what arrives and when (and does nothing else with a
message). The people come in through the register's own import (``import_people``: sealed,
hashed); the campaign is drafted from the seeded templates and approved through the domain
functions, as legal would. Three measures:

  unbounded  EMAIL_RATE_PER_MINUTE = 10,000,000: a campaign to N people (all with an email,
             half Persian, half English), from the worker's start to the campaign finished;
             throughput between the first and the last notice sent (the database's sent_at),
             per minute, and against the arrivals the server counted (duplicates, losses);
  alerts     the Telegram alerts' commit-to-sent latency (log-only transport, one linked chat:
             an incident created every 1.5-2 s, Telegram's per-chat limit being one a second)
             while the worker is idle and while it sends the campaign above: the notices must
             not slow the alerts;
  limited    EMAIL_RATE_PER_MINUTE = R (default 1,200) and a campaign larger than R x the run
             (default 90 s from the first arrival: the unbounded run's last minute counts
             against the rate too): the busiest 60-second window of arrivals (must be <= R) and
             the mean rate over the run.

Results: bench/results/notices_send-<db>-<UTC time>.json, and bench/README.md, "Notices".
"""

from __future__ import annotations

import argparse
import asyncio  # noqa: F401  (aiosmtpd's handler protocol is coroutines)
import datetime as dt
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import RESULTS, ROOT, bench_env, free_port, fresh_postgres, stop  # noqa: E402

UNBOUNDED = 10_000_000


class Counting:
    """An aiosmtpd handler that takes every message and notes when, and to whom."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, str]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        with self.lock:
            for rcpt in envelope.rcpt_tos:  # type: ignore[attr-defined]
                self.arrivals.append((time.monotonic(), rcpt))
        return "250 2.0.0 OK"

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


def setup_env(db: str, var: Path, smtp_port: int) -> dict[str, str]:
    from cryptography.fernet import Fernet

    extra = {"DATABASE_URL": fresh_postgres("bench_notices_send")} if db == "postgres" else {}
    env = bench_env(
        var,
        DJANGO_DEBUG="0",
        DJANGO_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        PII_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        TELEGRAM_BOT_TOKEN="",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_USE_TLS="0",
        DEFAULT_FROM_EMAIL="notices@bench.example",
        NOTIFIER_POLL_SECONDS="0.05",
        PUBLIC_BASE_URL="https://desk.example.com",
        **extra,
    )
    os.environ.update(env)
    return env


def prepare_people(incident: object, legal: object, people: int, tag: str) -> None:
    from incidents.affected.importing import import_people

    with tempfile.TemporaryFile("w+b") as csv:
        csv.write(b"customer_id,name,email,mobile,language\r\n")
        for i in range(people):
            language = "fa" if i % 2 else "en"
            csv.write(f"{tag}-{i:07d},Person {i},p{i}.{tag}@bench.example,,{language}\r\n".encode())
        csv.seek(0)
        result = import_people(incident, csv, actor=legal)
    assert result.imported == people, result


def campaign_for(people: int, tag: str, actors: dict) -> object:
    """An incident leaking names, contacts and passwords, its register, an approved campaign."""
    from incidents.affected.campaigns import approve_campaign, draft_campaign
    from incidents.lifecycle import create_incident

    incident, _ = create_incident(
        actor=actors["admin"],
        data={
            "title": f"bench {tag}",
            "severity": "high",
            "data_categories": ["identity", "contact", "credentials"],
        },
    )
    prepare_people(incident, actors["legal"], people, tag)
    campaign, _ = draft_campaign(incident, actor=actors["legal"])
    campaign, _ = approve_campaign(campaign, actor=actors["legal2"])
    return campaign


def users() -> dict:
    from django.contrib.auth.models import Group, User

    from notifier.models import ChatLink

    actors = {"admin": User.objects.create_superuser("bench-admin", password="bench-pass-long")}
    for name, role in (("legal", "legal"), ("legal2", "legal"), ("engineer", "engineer")):
        actors[name] = User.objects.create_user(f"bench-{name}", password="bench-pass-long")
        actors[name].groups.add(Group.objects.get_or_create(name=role)[0])
    # One linked chat: every new incident alerts it (the log-only transport "sends" it).
    ChatLink.objects.create(user=actors["engineer"], account_id=1, chat_id=1)
    return actors


def start_worker(env: dict[str, str], rate: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_notifier"],
        cwd=ROOT,
        env={**env, "EMAIL_RATE_PER_MINUTE": str(rate)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


def alert_latency_ms(actors: dict) -> float | None:
    """One incident created now: milliseconds from its commit to its alert marked sent."""
    from incidents.lifecycle import create_incident
    from notifier.models import Delivery

    _incident, event = create_incident(
        actor=actors["admin"], data={"title": "alert probe", "severity": "low"}
    )
    end = time.monotonic() + 10
    while time.monotonic() < end:
        sent = Delivery.objects.filter(event=event, status="sent").values_list("sent_at", flat=True)
        if sent:
            return round((sent[0] - event.created_at).total_seconds() * 1000, 1)
        time.sleep(0.005)
    return None


def finished(campaign: object) -> bool:
    campaign.refresh_from_db()  # type: ignore[attr-defined]
    return campaign.state == "finished"  # type: ignore[attr-defined]


def unbounded(env: dict, handler: Counting, people: int, actors: dict) -> dict:
    from incidents.affected.campaigns import tally

    worker = start_worker(env, UNBOUNDED)
    try:
        time.sleep(3)  # Django's start-up; then the idle worker's alert latency
        idle = []
        for _ in range(8):
            idle.append(alert_latency_ms(actors))
            time.sleep(1.5)  # Telegram's one message a second per chat
        campaign = campaign_for(people, "u", actors)
        started = time.monotonic()
        busy, next_probe = [], started + 1
        while not finished(campaign) and time.monotonic() - started < 3600:
            if time.monotonic() >= next_probe:
                busy.append(alert_latency_ms(actors))
                next_probe = time.monotonic() + 2
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        stop(worker)
    counts = tally([campaign.pk])[campaign.pk]
    span = (counts["last_sent_at"] - counts["first_sent_at"]).total_seconds()
    arrivals = handler.count()
    return {
        "people": people,
        "sent": counts["sent"],
        "dead": counts["dead"],
        "arrived": arrivals,
        "duplicates": arrivals - len({rcpt for _at, rcpt in handler.arrivals}),
        "approve_to_finished_s": round(elapsed, 1),
        "first_to_last_sent_s": round(span, 1),
        "per_minute": round(counts["sent"] / span * 60) if span else None,
        "configured_per_minute": UNBOUNDED,
        "alert_latency_ms": {
            "idle_median": statistics.median(x for x in idle if x is not None),
            "sending_median": statistics.median(x for x in busy if x is not None),
            "sending_max": max(x for x in busy if x is not None),
            "sending_samples": len(busy),
            "lost": sum(x is None for x in idle + busy),
        },
    }


def limited(env: dict, handler: Counting, rate: int, seconds: float, actors: dict) -> dict:
    people = int(rate * seconds / 60 * 1.5) + 10
    campaign = campaign_for(people, "l", actors)
    with handler.lock:
        handler.arrivals.clear()
    worker = start_worker(env, rate)
    try:
        # The rate is every worker's together over the last minute, the unbounded run's
        # included: the first notice goes once its last minute has passed.
        end = time.monotonic() + 180
        while not handler.count() and time.monotonic() < end:
            time.sleep(0.1)
        time.sleep(seconds)
    finally:
        stop(worker)
    times = sorted(at for at, _rcpt in handler.arrivals)
    busiest = max(
        (sum(1 for t in times[i:] if t < start + 60) for i, start in enumerate(times)), default=0
    )
    span = times[-1] - times[0] if len(times) > 1 else 0
    assert not finished(campaign), "the campaign was too small to keep the worker at its rate"
    return {
        "configured_per_minute": rate,
        "run_seconds": seconds,
        "arrived": len(times),
        "busiest_60s_window": busiest,
        "mean_per_minute": round(len(times) / span * 60) if span else None,
        "held": busiest <= rate,
    }


def machine() -> dict:
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        with open("/proc/cpuinfo") as info:
            cpu = next((ln.split(":", 1)[1].strip() for ln in info if "model name" in ln), "")
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "django": importlib.metadata.version("django"),
        "aiosmtpd": importlib.metadata.version("aiosmtpd"),
        "platform": platform.platform(),
        "load_before": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=5000, help="100000 for the full run")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--limited-rate", type=int, default=1200)
    parser.add_argument("--limited-seconds", type=float, default=90.0)
    args = parser.parse_args()
    from aiosmtpd.controller import Controller

    handler = Counting()
    port = free_port()
    smtp = Controller(handler, hostname="127.0.0.1", port=port)
    smtp.start()
    var = Path(tempfile.mkdtemp(prefix="bench-notices-"))
    env = setup_env(args.db, var, port)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    report = {"db": args.db, "machine": machine()}
    try:
        actors = users()
        report["unbounded"] = unbounded(env, handler, args.people, actors)
        print(json.dumps(report["unbounded"], indent=2), flush=True)
        report["limited"] = limited(env, handler, args.limited_rate, args.limited_seconds, actors)
        print(json.dumps(report["limited"], indent=2), flush=True)
    finally:
        smtp.stop()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    name = f"notices_send-{args.db}-{stamp}.json"
    (RESULTS / name).write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"results: bench/results/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
