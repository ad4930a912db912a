"""How long `manage.py verify_record` takes on a long log, and a dossier PDF of a busy incident.

    .venv/bin/python bench/verify_record.py [--events 100000] [--database-url postgres://...]

Builds a fresh database (SQLite in a temporary folder unless --database-url names an empty
PostgreSQL database), writes one incident and then N chained events in bulk (each hash computed
by incidents.events.event_hash, exactly as append_event does, but without a transaction per
event), and times the chain walk (incidents.record.walk_chain) and the dossier PDF of an
incident carrying 1,000 of those events. Results: bench/results/verify_record-<events>.json and
bench/README.md ("Record verification and dossier").
"""

from __future__ import annotations

import argparse
import json
import os
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
    os.environ.update(bench_env(tmp, DJANGO_ALLOWED_HOSTS="testserver"), DJANGO_DEBUG="0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def populate(count: int) -> object:
    import datetime as dt

    from django.contrib.auth.models import User
    from django.utils import timezone

    from incidents.events import event_hash
    from incidents.lifecycle import create_incident
    from incidents.models import Event, LogHead

    user = User.objects.create_user("bench")
    busy, first = create_incident(actor=user, data={"title": "بنچ", "severity": "high"})
    other, _ = create_incident(actor=user, data={"title": "other", "severity": "low"})
    prev, seq, batch = LogHead.objects.get(id=1).hash, LogHead.objects.get(id=1).seq, []
    start = timezone.now().astimezone(dt.UTC)
    for i in range(count):
        seq += 1
        incident = busy if i < 1000 else other
        event = Event(
            seq=seq,
            incident=incident,
            kind="updated",
            actor=user,
            actor_username="bench",
            created_at=start + dt.timedelta(seconds=i),
            data={"changes": {"summary": {"from": "", "to": f"step {i}"}}},
            prev_hash=prev,
        )
        event.hash = prev = event_hash(event, reference=incident.reference)
        batch.append(event)
        if len(batch) == 5000:
            Event.objects.bulk_create(batch)
            batch = []
    Event.objects.bulk_create(batch)
    LogHead.objects.filter(id=1).update(seq=seq, hash=prev)
    return busy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup(tmp, args.database_url)
        from django.db import connection

        busy = populate(args.events)
        from incidents.legal.dossier import gather, render_pdf
        from incidents.legal.record import walk_chain

        t0 = time.perf_counter()
        result = walk_chain()
        walk = time.perf_counter() - t0
        assert result.ok, result
        render_pdf(gather(busy), language="fa")  # the first document sets up fonts per thread
        t0 = time.perf_counter()
        pdf = render_pdf(gather(busy), language="fa")
        dossier = time.perf_counter() - t0
        body = {
            "database": connection.vendor,
            "events": result.checked,
            "walk_seconds": round(walk, 2),
            "events_per_second": round(result.checked / walk),
            "dossier_pdf_seconds_1000_events": round(dossier, 2),
            "dossier_pdf_bytes": len(pdf),
            "note": "dossier time includes a full chain walk (it verifies before rendering)",
        }
    RESULTS.mkdir(exist_ok=True)
    name = f"verify_record-{connection.vendor}-{args.events}.json"
    (RESULTS / name).write_text(json.dumps(body, indent=2) + "\n")
    print(json.dumps(body, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
