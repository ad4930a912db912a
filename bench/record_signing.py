"""What signed checkpoints cost: `manage.py verify_record` in full and incrementally on a long
log, and an append that signs a checkpoint against one that does not.

    .venv/bin/python bench/record_signing.py [--events 1000000] [--database-url postgres://...]

Builds a fresh database (SQLite in a temporary folder unless --database-url names an empty
PostgreSQL database) and writes N hash-chained events in bulk, with a signed checkpoint every
RECORD_CHECKPOINT_EVERY (1000) events made by the same function append_event calls
(record_signing.checkpoint_if_due). Then it times a full run, a first incremental run (nothing
verified before: a full walk), and the daily run after one more day of 1,000 events; and the
time of 2,000 appends through the domain (notes), split by whether the append signed a
checkpoint. Results: bench/results/record_signing-<database>-<events>.json and bench/README.md
("Signed checkpoints").
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import RESULTS, bench_env  # noqa: E402


def setup(tmp: str, database_url: str | None) -> None:
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    key = Path(tmp) / "record-signing.pem"
    os.environ.update(
        bench_env(tmp, DJANGO_ALLOWED_HOSTS="testserver"),
        DJANGO_DEBUG="0",
        RECORD_SIGNING_KEY=str(key),
    )
    os.environ.setdefault("PII_ENCRYPTION_KEY", "YmVuY2gtb25seS1ub3QtYS1zZWNyZXQtMzItYnl0ZXM=")
    from core.record_key import ensure_key_file

    ensure_key_file(key)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def populate(count: int) -> object:
    import datetime as dt

    from django.contrib.auth.models import User
    from django.utils import timezone

    from incidents.events import event_hash
    from incidents.legal.record_signing import checkpoint_if_due
    from incidents.lifecycle import create_incident
    from incidents.models import Event, LogHead

    user = User.objects.create_user("bench", is_staff=True, is_superuser=True)  # an admin
    incident, _ = create_incident(actor=user, data={"title": "bench", "severity": "low"})
    head = LogHead.objects.get(id=1)
    batch: list[Event] = []
    start = timezone.now().astimezone(dt.UTC)
    for i in range(count):
        event = Event(
            seq=head.seq + 1,
            incident=incident,
            kind="updated",
            actor=user,
            actor_username="bench",
            created_at=start + dt.timedelta(seconds=i),
            data={"changes": {"summary": {"from": "", "to": f"step {i}"}}},
            prev_hash=head.hash,
        )
        event.hash = event_hash(event, reference=incident.reference)
        batch.append(event)
        head.seq, head.hash = event.seq, event.hash
        if head.seq % 1000 == 0 or len(batch) == 5000:
            Event.objects.bulk_create(batch)
            batch = []
            checkpoint_if_due(head, event.created_at)
    Event.objects.bulk_create(batch)
    head.save()
    return incident


def timed(run: object) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = run()  # type: ignore[operator]
    return time.perf_counter() - t0, result


def appends(incident: object, user: object, count: int) -> dict[str, float]:
    from incidents.models import RecordCheckpoint
    from incidents.notes import add_note

    signing, plain = [], []
    for n in range(count):
        before = RecordCheckpoint.objects.count()
        seconds, _ = timed(lambda n=n: add_note(incident, actor=user, text=f"note {n}"))
        (signing if RecordCheckpoint.objects.count() > before else plain).append(seconds)
    return {
        "appends": count,
        "plain_append_ms_median": round(statistics.median(plain) * 1000, 2),
        "signing_append_ms_median": round(statistics.median(signing) * 1000, 2),
        "signing_appends": len(signing),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup(tmp, args.database_url)
        from django.contrib.auth.models import User
        from django.db import connection

        from incidents.legal.record import verify_record

        incident = populate(args.events)
        full, run = timed(lambda: verify_record(full=True))
        assert run.ok, run.detail
        body: dict[str, object] = {
            "database": connection.vendor,
            "events": run.checked,
            "checkpoints": run.checkpoints,
            "full_seconds": round(full, 2),
        }
        body.update(appends(incident, User.objects.get(username="bench"), 2000))
        daily, run = timed(lambda: verify_record())
        assert run.ok, run.detail
        body.update(
            daily_seconds=round(daily, 2),
            daily_walked=run.checked,
            daily_from_seq=run.from_seq,
        )
    RESULTS.mkdir(exist_ok=True)
    name = f"record_signing-{connection.vendor}-{args.events}.json"
    (RESULTS / name).write_text(json.dumps(body, indent=2) + "\n")
    print(json.dumps(body, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
