"""How long a typeset dossier PDF takes for an incident with a long timeline (issue 19).

    .venv/bin/python bench/dossier.py [--events 2000] [--database-url postgres://...]

Builds a fresh database (SQLite in a temporary folder unless --database-url names an empty
PostgreSQL database), one incident whose timeline holds N hash-chained events of the kinds a
busy investigation writes (notes in Persian and English, scope edits, evidence downloads, state
moves; each hash by incidents.events.event_hash, written in bulk), then times the dossier PDF in
Persian and in English: the first document of the process (fonts and stylesheet set up) and the
next ones. Results: bench/results/dossier-<database>-<events>.json and bench/README.md
("Typeset dossier").
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

NOTES = (
    "ورود مشکوک از نشانی 203.0.113.7 به سرور پشتیبان؛ کلیدها چرخانده شد.",
    "Bucket policy allowed public reads since the 2026-11-20 deploy.",
)


def setup(tmp: str, database_url: str | None) -> None:
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    from cryptography.fernet import Fernet

    from core.record_key import ensure_key_file

    key = Path(tmp) / "record-signing.pem"
    ensure_key_file(key)
    os.environ.update(
        bench_env(tmp, DJANGO_ALLOWED_HOSTS="testserver"),
        DJANGO_DEBUG="0",
        PII_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        RECORD_SIGNING_KEY=str(key),
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def event_body(i: int) -> dict:
    """The i-th event's kind, states and data: a rotation of what an investigation records."""
    kind = ("note", "updated", "evidence.downloaded", "note", "acknowledged")[i % 5]
    data = {
        "note": {"text": NOTES[i % 2] + f" ({i})"},
        "updated": {"changes": {"summary": {"from": "", "to": f"step {i}"}}},
        "evidence.downloaded": {
            "evidence": {"id": 1, "name": "access-log.csv", "size": 48000, "sha256": "ab" * 32}
        },
        "acknowledged": {},
    }[kind]
    return {"kind": kind, "data": data}


def populate(count: int) -> object:
    import datetime as dt

    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from incidents.events import event_hash
    from incidents.lifecycle import create_incident
    from incidents.models import Event, LogHead

    user = User.objects.create_user("bench")
    user.groups.add(Group.objects.get_or_create(name="engineer")[0])
    busy, _ = create_incident(
        actor=user, data={"title": "نشت پشتیبان سفارش‌ها", "severity": "critical"}
    )
    head = LogHead.objects.get(id=1)
    prev, seq, batch = head.hash, head.seq, []
    start = timezone.now().astimezone(dt.UTC)
    for i in range(count - 1):
        seq += 1
        event = Event(
            seq=seq,
            incident=busy,
            actor=user,
            actor_username="bench",
            created_at=start + dt.timedelta(seconds=i),
            prev_hash=prev,
            **event_body(i),
        )
        event.hash = prev = event_hash(event, reference=busy.reference)
        batch.append(event)
    Event.objects.bulk_create(batch, batch_size=2000)
    LogHead.objects.filter(id=1).update(seq=seq, hash=prev)
    return busy


def timed(busy: object, language: str) -> tuple[float, int, int]:
    import pypdfium2

    from incidents.legal.dossier import gather, render_pdf

    t0 = time.perf_counter()
    pdf = render_pdf(gather(busy), language=language)
    seconds = time.perf_counter() - t0
    return seconds, len(pdf), len(pypdfium2.PdfDocument(pdf))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup(tmp, args.database_url)
        from django.db import connection

        busy = populate(args.events)
        first, _, _ = timed(busy, "fa")
        body: dict = {"database": connection.vendor, "events": args.events}
        body["first_document_of_the_process_seconds"] = round(first, 2)
        for language in ("fa", "en"):
            seconds, size, pages = timed(busy, language)
            body[language] = {"seconds": round(seconds, 2), "pages": pages, "bytes": size}
        body["note"] = "each time includes gathering the parts and a full chain walk"
    RESULTS.mkdir(exist_ok=True)
    name = f"dossier-{connection.vendor}-{args.events}.json"
    (RESULTS / name).write_text(json.dumps(body, indent=2) + "\n")
    print(json.dumps(body, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
