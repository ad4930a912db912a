"""The scale benchmark's data (issue 21): N incidents over five years with ~10 events each.

    .venv/bin/python bench/scale_data.py --size 100000 --db sqlite|postgres [--rebuild]

The first 1,000 incidents are made through the domain functions, spread over the five years:
created, scoped, runbook tasks done by two engineers, restored, referred / closed / dismissed,
notes, status updates, need-to-know restrictions, open obligations with due times; the newest
~12% left open in each open state. So are one old incident with ~50 events and one with 500
(the dossier's). Bigger sizes start from a copy of the kept 1,000 database and add clones of
its terminal incidents in bulk (bench/scale_bulk.py), spread over the same years, their events
chained and hashed exactly as ``append_event`` does, with the signed checkpoints production
makes. One full ``verify_record`` then has to say ok: that checks the bulk hashes, and leaves
the verified run the incremental verification starts from.

Built databases are kept (SQLite: bench/.data/scale-<size>.sqlite3; PostgreSQL: database
bench_scale_<size>), with a marker naming the generator version and the migrations applied when
it was built. A kept database is reused (and migrated forward) while its generator version is
current and its migrations are all still in the code; otherwise, or with --rebuild, it is built
again.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import ROOT, bench_env  # noqa: E402

GENERATOR_VERSION = 2  # 2: clones' phase moments follow their detection
DATA = ROOT / "bench" / ".data"
DOMAIN_MAX = 1000
BATCH = 5000
YEARS = 5
# A fixed, bench-only key: the kept databases' encrypted fields must stay readable across runs.
PII_KEY = base64.urlsafe_b64encode(b"breach-desk-bench-scale-pii-key!").decode()
TITLES = (
    "نشت داده مشتریان از پشتیبان",
    "Phishing campaign against support staff",
    "دسترسی غیرمجاز به سامانه حقوق",
    "Misconfigured storage bucket exposed invoices",
    "حمله باج‌افزار به سرور بایگانی",
    "Credential stuffing on the customer portal",
)
NOTES = (
    "ورود مشکوک از نشانی 203.0.113.7 به سرور پشتیبان؛ کلیدها چرخانده شد.",
    "Bucket policy allowed public reads since the last deploy.",
)
SCOPE = {
    "attack_vector": "phishing",
    "affected_systems": [{"name": "shop-db", "hosting": "own"}],
    "affected_subjects_estimate": 1200,
}


def database_url(db: str, size: int) -> str:
    if db == "sqlite":
        return f"sqlite:///{DATA / f'scale-{size}.sqlite3'}"
    return f"postgres://postgres@127.0.0.1:5432/bench_scale_{size}"


def configure(db: str, size: int, var: Path) -> None:
    """Point this process at the kept database of ``size`` on ``db`` and set Django up."""
    DATA.mkdir(exist_ok=True)
    env = bench_env(var, DJANGO_ALLOWED_HOSTS="testserver,127.0.0.1")
    # Production settings (DEBUG off), served over plain http on loopback: no https redirect.
    os.environ.update(env, DJANGO_DEBUG="0", PII_ENCRYPTION_KEY=PII_KEY, DJANGO_SSL_REDIRECT="0")
    os.environ["DATABASE_URL"] = database_url(db, size)
    import django

    django.setup()


def _marker(db: str, size: int) -> Path:
    return DATA / f"scale-{db}-{size}.json"


def _migration_names() -> list[str]:
    from django.db.migrations.loader import MigrationLoader

    return sorted(f"{app}.{name}" for app, name in MigrationLoader(None).disk_migrations)


def _reusable(db: str, size: int) -> bool:
    """The kept database was built by this generator version from migrations that all still
    exist (new ones are applied by ``migrate``; a removed or renamed one means rebuild)."""
    path = _marker(db, size)
    if not path.exists():
        return False
    marker = json.loads(path.read_text())
    if marker.get("generator") != GENERATOR_VERSION:
        return False
    if db == "sqlite" and not (DATA / f"scale-{size}.sqlite3").exists():
        return False
    if db == "postgres" and not _postgres_exists(f"bench_scale_{size}"):
        return False
    return set(marker["migrations"]) <= set(_migration_names())


def _postgres_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as c:
        query = "SELECT 1 FROM pg_database WHERE datname = %s"
        return c.execute(query, (name,)).fetchone() is not None


def _drop(db: str, size: int) -> None:
    _marker(db, size).unlink(missing_ok=True)
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            (DATA / f"scale-{size}.sqlite3{suffix}").unlink(missing_ok=True)
    else:
        from bench.common import fresh_postgres

        fresh_postgres(f"bench_scale_{size}")


def ensure(db: str, size: int, *, rebuild: bool = False) -> dict[str, Any]:
    """The kept database of ``size``, built if needed and migrated; returns its marker.
    Precondition: ``configure(db, size, ...)`` ran in this process, before any query.

    Beyond DOMAIN_MAX incidents, the database starts as a copy of the kept DOMAIN_MAX one (built
    first if needed): the domain phase, most of a build's time, is made once per database."""
    from django.core.management import call_command
    from django.db import connection

    if not rebuild and _reusable(db, size):
        call_command("migrate", verbosity=0)
        _analyzed()
        return json.loads(_marker(db, size).read_text())
    connection.close()
    started = time.perf_counter()
    if size > DOMAIN_MAX:
        base = _base_marker(db)
        _copy_base(db, size)
        call_command("migrate", verbosity=0)
        facts = {key: base[key] for key in ("old_reference", "dossier_reference")}
        facts.update(_grow(size - DOMAIN_MAX))
    else:
        _drop(db, size)
        call_command("migrate", verbosity=0)
        facts = _seed(size)
    marker = {
        "generator": GENERATOR_VERSION,
        "migrations": _migration_names(),
        "size": size,
        "build_seconds": round(time.perf_counter() - started, 1),
        **facts,
    }
    _marker(db, size).write_text(json.dumps(marker, indent=2) + "\n")
    return marker


def _base_marker(db: str) -> dict[str, Any]:
    """The kept DOMAIN_MAX database's marker, built by a process of its own if needed (this
    one's settings already name the bigger database)."""
    if not _reusable(db, DOMAIN_MAX):
        script = [sys.executable, __file__, "--size", str(DOMAIN_MAX), "--db", db, "--rebuild"]
        subprocess.run(script, check=True, stdout=subprocess.DEVNULL)
    return json.loads(_marker(db, DOMAIN_MAX).read_text())


def _copy_base(db: str, size: int) -> None:
    _drop(db, size)
    if db == "sqlite":
        # The backup API, not a file copy: it reads through SQLite, so a WAL is included.
        with sqlite3.connect(DATA / f"scale-{DOMAIN_MAX}.sqlite3") as source:
            with sqlite3.connect(DATA / f"scale-{size}.sqlite3") as target:
                source.backup(target)
        return
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "bench_scale_{size}"')
        c.execute(f'CREATE DATABASE "bench_scale_{size}" TEMPLATE "bench_scale_{DOMAIN_MAX}"')


def _seed(count: int) -> dict[str, Any]:
    """``count`` incidents through the domain functions, spread over the five years."""
    from incidents.legal.obligations import seed_rules

    seed_rules()
    started = time.perf_counter()
    facts = _domain_phase(count, _now(), _users())
    facts["domain_seconds"] = round(time.perf_counter() - started, 1)
    return {**facts, **_verified()}


def _grow(count: int) -> dict[str, Any]:
    """``count`` more incidents in bulk, cloned from the domain ones."""
    started = time.perf_counter()
    from bench.scale_bulk import bulk_phase

    bulk_phase(count, _now())
    _analyzed()
    return {"bulk_seconds": round(time.perf_counter() - started, 1), **_verified()}


def _analyzed() -> None:
    """PostgreSQL's statistics and visibility map, as autovacuum keeps them in production (this
    machine's server runs with autovacuum off): planned on the empty tables' estimates, a
    page's reads hashed or scanned whole tables, and without the visibility map no index
    answers a count alone. Run after a bulk load and each time a kept database is measured
    (a migration's new index is vacuumed too). SQLite gathers no statistics unless told, and
    production's is never told."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")


def _verified() -> dict[str, Any]:
    """One full verification, which must pass: it checks the bulk hashes and checkpoints, and
    is the last good run the incremental verification starts from."""
    from incidents.legal.record import verify_record

    started = time.perf_counter()
    run = verify_record(full=True)
    if not run.ok:
        raise RuntimeError(f"the generated record does not verify: {run.detail}")
    return {"verify_seconds": round(time.perf_counter() - started, 1), "events": run.checked}


def _now() -> dt.datetime:
    from django.utils import timezone

    return timezone.now().astimezone(dt.UTC)


def _users() -> dict[str, Any]:
    from django.contrib.auth.models import Group, User

    from core.roles import ENGINEER, EXECUTIVE, LEGAL

    admin = User.objects.create_user("admin", is_staff=True, is_superuser=True)
    users = {"admin": admin}
    for name, role in (("eng", ENGINEER), ("eng2", ENGINEER), ("legal", LEGAL)):
        users[name] = User.objects.create_user(name)
        users[name].groups.add(Group.objects.get_or_create(name=role)[0])
    users["exe"] = User.objects.create_user("exe")
    users["exe"].groups.add(Group.objects.get_or_create(name=EXECUTIVE)[0])
    return users


def _domain_phase(count: int, now: dt.datetime, users: dict[str, Any]) -> dict[str, Any]:
    """``count`` incidents through the domain, oldest first; the last ~12% stay open."""
    from incidents.notes import add_note

    window = dt.timedelta(days=365 * YEARS)
    for i in range(count):
        age = window * (count - i) / count
        open_share = i >= count * 0.88
        _story(i, now - age, open_share, users)
    old = _story(count, now - window * 0.9, False, users, close=False)
    for n in range(40):
        add_note(old, actor=users["eng"], text=NOTES[n % 2] + f" ({n})")
    busy = _story(count + 1, now - window * 0.5, False, users, close=False)
    for n in range(490):
        add_note(busy, actor=users["eng"], text=NOTES[n % 2] + f" ({n})")
    _deliveries()
    return {"old_reference": old.reference, "dossier_reference": busy.reference}


def _story(
    i: int, detected: dt.datetime, open_share: bool, users: dict[str, Any], close: bool = True
) -> Any:
    """One incident driven as far as its number says: open ones stop in detected / scoping /
    restoring / restored; the others end dismissed, referred or closed."""
    from incidents.lifecycle import apply_transition, create_incident, update_incident
    from incidents.need_to_know import change_restriction
    from incidents.notes import add_note
    from incidents.workspace.updates import post_update

    eng, legal = users["eng"], users["legal"]
    severity = ("low", "medium", "high", "critical", "low", "medium")[i % 6]
    title = f"{TITLES[i % len(TITLES)]} {i}"
    inc, _ = create_incident(
        actor=eng, data={"title": title, "severity": severity, "detected_at": detected}
    )
    if i % 20 == 7:
        inc, _ = change_restriction(inc, actor=users["admin"], restricted=True, members=["eng"])
    stop = i % 4 if open_share else 4  # detected, scoping, restoring, restored: open states
    if not open_share and close and i % 10 == 3:
        return apply_transition(inc, "dismiss", actor=eng, payload={"reason": "false alarm"})[0]
    if stop >= 1:
        inc, _ = apply_transition(inc, "start_scoping", actor=eng)
        inc, _ = add_note(inc, actor=eng, text=NOTES[i % 2])
    if stop >= 2:
        inc, _ = update_incident(inc, actor=eng, changes=_scope(i))
        _do_required_tasks(inc, users)
        inc, _ = apply_transition(inc, "start_restoration", actor=eng)
        post_update(inc, actor=eng, body=f"Containment in progress ({i}).")
    if stop >= 3:
        _do_required_tasks(inc, users)
        payload = {"restoration_summary": "Keys rotated, access removed."}
        inc, _ = apply_transition(inc, "mark_restored", actor=eng, payload=payload)
    if stop >= 4 and close:
        inc = _finish(inc, i, legal, eng, detected)
    return inc


def _scope(i: int) -> dict[str, Any]:
    # Low and medium incidents without personal data owe nothing to authorities, so they can be
    # closed; the others get obligations (open, with due times) and are referred.
    cats = [] if i % 6 in (0, 1) else ["contact", "identity"]
    return {**SCOPE, "data_categories": cats}


def _finish(inc: Any, i: int, legal: Any, eng: Any, detected: dt.datetime) -> Any:
    from incidents.lifecycle import apply_transition

    if i % 6 in (0, 1):
        payload = {"reason": "No personal data."}
        return apply_transition(inc, "close", actor=legal, payload=payload)[0]
    referral = {
        "authority": "cyber_police",
        "authority_name": "FATA",
        "submitted_at": max(detected, _now() - dt.timedelta(days=1)),
        "case_number": f"FATA-{i}",
    }
    return apply_transition(inc, "refer", actor=legal, payload=referral)[0]


def _do_required_tasks(inc: Any, users: dict[str, Any]) -> None:
    from incidents.workspace.tasks import set_task_done

    for task in inc.tasks.required_open().order_by("confirms", "id"):
        set_task_done(task, actor=users["eng2"] if task.confirms else users["eng"])


def _deliveries() -> None:
    """The Telegram alerts the notifier would have sent: one per high or critical incident's
    creation (the outbox rows the notifier pages read)."""
    from incidents.models import Event
    from notifier.models import Delivery

    created = Event.objects.filter(kind="created", incident__severity__in=["high", "critical"])
    rows = [
        Delivery(
            key=f"event:{seq}:1001",
            kind="alert",
            event_id=pk,
            incident_id=incident_id,
            chat_id=1001,
            text="alert",
            status=Delivery.SENT,
            attempts=1,
            sent_at=at,
            created_at=at,
        )
        for pk, seq, incident_id, at in created.values_list(
            "pk", "seq", "incident_id", "created_at"
        )
    ]
    Delivery.objects.bulk_create(rows, batch_size=BATCH)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        configure(args.db, args.size, Path(tmp))
        marker = ensure(args.db, args.size, rebuild=args.rebuild)
    print(json.dumps(marker, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
