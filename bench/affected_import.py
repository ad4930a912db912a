"""How fast the affected-people register imports 100,000 people (issue 18 part 2).

    .venv/bin/python bench/affected_import.py [--people 100000] [--db sqlite|postgres|both]

One CSV of N generated people (seed 18: Persian and Latin names, every spelling of a mobile the
import normalises: Persian digits, +98, 0098, 0 and bare forms with spaces and dashes; an email
for four in five) is written once. Then, per database, a child process with a fresh database
(SQLite in a private var dir; PostgreSQL: the database ``bench_affected_import``, dropped and
created) migrates it, creates a legal user with an API token and one open incident per step,
and measures, each step on an incident of its own:

  floor   the import's own insert (``insert_rows``: Django's ``bulk_create`` in batches of 500)
          of N rows already sealed and hashed, in one transaction: the insert alone, the
          baseline the import is compared with;
  seal    ``core.pii.seal`` N times (no database): the encryption alone;
  check   ``import_people(..., dry_run=True)``: read, validate, normalise, hash, look up;
  domain  ``import_people(...)``: both passes, the write under the incident's lock, the event;
          and how long of it the lock was held (the second pass);
  http    ``POST /api/incidents/{ref}/affected-people/import/`` (multipart ``file``, token of
          the legal user) to a real daphne on 127.0.0.1 on the same database: the whole path,
          upload parsing included; the server's CPU seconds are read from /proc.

Every step checks its answer (N imported, N rows). Ratios: domain / floor (what validation,
sealing and look-ups cost over the bare insert) and http / domain. Results:
bench/results/affected_import-<db>-<UTC time>.json and bench/README.md, "Affected-people import".
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import (  # noqa: E402
    RESULTS,
    ROOT,
    bench_env,
    free_port,
    fresh_postgres,
    process_counters,
    stop,
    wait_port,
)

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
FIRST = ["Ali", "Sara", "Reza", "Mina", "علی", "زهرا", "محمد", "فاطمه", "Omid", "نسرین"]
LAST = ["Rezaei", "Ahmadi", "Karimi", "Hosseini", "رضایی", "احمدی", "کریمی", "حسینی\u200cنژاد"]


def write_csv(path: Path, people: int) -> int:
    """The file legal would upload; returns its size in bytes."""
    rng = random.Random(18)
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("\ufeffcustomer_id,name,email,mobile,language\r\n")
        for i in range(people):
            national = f"9{rng.randrange(10**9):09d}"
            mobile = [
                f"0{national}",
                f"+98 {national[:3]} {national[3:6]} {national[6:]}",
                f"0098-{national}",
                national,
                f"0{national}".translate(PERSIAN_DIGITS),
            ][i % 5]
            email = "" if i % 5 == 4 else f"customer.{i}@Example-{i % 97}.IR"
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            language = "en" if i % 3 == 0 else "fa"
            out.write(f"CUST-{i:07d},{name},{email},{mobile},{language}\r\n")
    return path.stat().st_size


def child_env(db: str, var: Path) -> dict[str, str]:
    from cryptography.fernet import Fernet

    extra = {"DATABASE_URL": fresh_postgres("bench_affected_import")} if db == "postgres" else {}
    return bench_env(
        var,
        DJANGO_DEBUG="0",
        DJANGO_SSL_REDIRECT="0",
        DJANGO_SECURE_COOKIES="0",
        PII_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        **extra,
    )


# --- the child: one database --------------------------------------------------------------


def measure(csv_path: Path, people: int) -> dict:
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.db import connection

    from core.models import ApiToken
    from incidents.lifecycle import create_incident

    call_command("migrate", verbosity=0)
    admin = User.objects.create_superuser("bench-admin", password="bench-password-long")
    legal = User.objects.create_user("bench-legal", password="bench-password-long")
    legal.groups.add(Group.objects.get_or_create(name="legal")[0])

    def incident() -> object:
        return create_incident(actor=admin, data={"title": "bench", "severity": "high"})[0]

    steps = {
        "floor": timed(lambda: floor(incident(), legal, people)),
        "seal": timed(lambda: seal_only(people)),
        "check": timed(lambda: domain_import(incident(), legal, csv_path, people, dry_run=True)),
    }
    locked: list[float] = []
    steps["domain"] = timed(lambda: domain_import(incident(), legal, csv_path, people, locked))
    steps["domain"]["lock_held_seconds"] = round(locked[0], 2)
    steps["http"] = over_http(incident().reference, ApiToken.issue(legal)[1], csv_path, people)
    return {"database": connection.vendor, "steps": steps}


def timed(step: object) -> dict:
    started = time.perf_counter()
    step()
    return {"seconds": round(time.perf_counter() - started, 2)}


def floor(incident: object, actor: object, people: int) -> None:
    from django.db import transaction

    from core import pii
    from incidents.affected.importing import insert_rows
    from incidents.models import AffectedPerson

    sealed = pii.seal(
        {"customer_id": "CUST-0000000", "name": "Ali Rezaei", "email": "", "mobile": ""}
    )
    with transaction.atomic():
        rows = (
            AffectedPerson(
                incident=incident,
                sealed=sealed,
                customer_hash=uuid.uuid4().hex * 2,
                email_hash=uuid.uuid4().hex * 2,
                mobile_hash=uuid.uuid4().hex * 2,
                has_email=True,
                has_mobile=True,
                added_by=actor,
            )
            for _ in range(people)
        )
        while batch := [row for _, row in zip(range(500), rows, strict=False)]:
            insert_rows(batch)
    assert AffectedPerson.objects.filter(incident=incident).count() == people


def seal_only(people: int) -> None:
    from core import pii

    for i in range(people):
        pii.seal(
            {
                "customer_id": f"CUST-{i:07d}",
                "name": "علی رضایی",
                "email": f"customer.{i}@example.ir",
                "mobile": "+989121234567",
            }
        )


def domain_import(
    incident: object,
    actor: object,
    csv_path: Path,
    people: int,
    locked: list[float] | None = None,
    *,
    dry_run: bool = False,
) -> None:
    """``import_people``; with ``locked``, the time of its second pass (the transaction that
    holds the incident's row, and on SQLite the database's one writer) is appended to it."""
    from incidents.affected import importing
    from incidents.models import AffectedPerson

    write = importing._write

    def timed_write(*args: object, **kwargs: object) -> object:
        started = time.perf_counter()
        try:
            return write(*args, **kwargs)
        finally:
            if locked is not None:
                locked.append(time.perf_counter() - started)

    importing._write = timed_write
    try:
        with open(csv_path, "rb") as upload:
            result = importing.import_people(incident, upload, actor=actor, dry_run=dry_run)
    finally:
        importing._write = write
    assert (result.imported, result.error_count) == (people, 0), result.as_dict()
    stored = AffectedPerson.objects.filter(incident=incident).count()
    assert stored == (0 if dry_run else people), stored


def over_http(reference: str, token: str, csv_path: Path, people: int) -> dict:
    env = dict(os.environ)
    port = free_port()
    log = open(Path(env["BREACH_DESK_VAR_DIR"]) / "daphne.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "core.asgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_port(port, proc)
        boundary = uuid.uuid4().hex
        body = (
            (
                f"--{boundary}\r\n"
                'Content-Disposition: form-data; name="file"; filename="people.csv"\r\n'
                "Content-Type: text/csv\r\n\r\n"
            ).encode()
            + csv_path.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/incidents/{reference}/affected-people/import/",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Token {token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        before = process_counters(proc.pid)
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=600) as response:
            answer = json.loads(response.read())
        seconds = time.perf_counter() - started
        after = process_counters(proc.pid)
    finally:
        stop(proc)
        log.close()
    assert answer["imported"] == people, answer
    cpu = round(after[0] - before[0], 2) if before and after else None
    return {"seconds": round(seconds, 2), "server_cpu_seconds": cpu, "body_bytes": len(body)}


# --- the parent --------------------------------------------------------------------------


def run(db: str, csv_path: Path, people: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-affected-") as var:
        env = child_env(db, Path(var))
        out = subprocess.run(
            [sys.executable, __file__, "_measure", str(csv_path), str(people)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
    if out.returncode:
        sys.stderr.write(out.stderr[-4000:])
        raise RuntimeError(f"the {db} run failed (exit {out.returncode})")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    steps = result["steps"]
    for step in steps.values():
        step["rows_per_second"] = round(people / step["seconds"]) if step["seconds"] else None
    result["ratios"] = {
        "domain_over_floor": round(steps["domain"]["seconds"] / steps["floor"]["seconds"], 2),
        "http_over_domain": round(steps["http"]["seconds"] / steps["domain"]["seconds"], 2),
    }
    return result


def machine() -> dict:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    cpu = ""
    with open("/proc/cpuinfo") if Path("/proc/cpuinfo").exists() else open(os.devnull) as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if "model name" in line), "")
    return {
        "cpu": cpu,
        "python": platform.python_version(),
        "django": importlib.metadata.version("django"),
        "cryptography": importlib.metadata.version("cryptography"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_before": load,
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    }


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "_measure":
        print(json.dumps(measure(Path(sys.argv[2]), int(sys.argv[3]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    dbs = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    with tempfile.TemporaryDirectory(prefix="bench-affected-csv-") as tmp:
        csv_path = Path(tmp) / "people.csv"
        size = write_csv(csv_path, args.people)
        report = {"people": args.people, "csv_bytes": size, "machine": machine(), "runs": {}}
        for db in dbs:
            report["runs"][db] = run(db, csv_path, args.people)
            print(json.dumps({db: report["runs"][db]}, indent=2), flush=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    name = f"affected_import-{args.db}-{stamp}.json"
    (RESULTS / name).write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: bench/results/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
