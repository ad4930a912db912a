"""Every page and read at 1k, 10k and 100k incidents, on SQLite and PostgreSQL (issue 21).

    .venv/bin/python bench/scale.py --sizes 1000,10000,100000 --db sqlite,postgres \\
        [--requests 30] [--rebuild] [--memory-seconds 30] [--only WORDS]

``--only dashboard,search`` measures only the reads whose name contains one of the words
(``dossier``, ``gather``, ``render`` and ``record`` name the slow ones), for work on one of them.

Each (database, size) runs in a process of its own, on the kept database bench/scale_data.py
builds (and migrates forward; --rebuild builds it again). In that process, Django's test Client
times each read (after two warm-up requests) as an admin or as an engineer, where need-to-know
filtering applies, and counts the queries of one request; the dossier PDF and its ``gather``
are timed 3 times (they take seconds where they scale badly), and ``verify_record`` once
in full (events/s) and once from the last verified checkpoint. At the largest size, one daphne
process (core.asgi) serves the dashboard to 8 concurrent clients with a session cookie for
--memory-seconds, and its peak RSS is read from /proc.

Prints a Markdown table (read, size, db, p50, p95, queries, ratio of p50 to the smallest
size's) and writes bench/results/scale-<db>-<UTC>.json with the versions and the commit.
Note: the dossier exports and verifications add their checkpoints, verification runs and
access records to the kept databases, as they would in production.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import RESULTS, ROOT, free_port, stop, wait_port  # noqa: E402

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
SLOW_READS = 3  # requests for the dossier and its gather: seconds each where they scale badly
CLIENTS = 8


def reads(facts: dict[str, Any], head_seq: int) -> list[tuple[str, str, str, dict[str, str]]]:
    """(name, user, path, headers) of every read the issue measures."""
    old = facts["old_reference"]
    hx = {"HTTP_HX_REQUEST": "true"}
    return [
        ("dashboard /", "admin", "/", {}),
        ("dashboard / (engineer)", "eng", "/", {}),
        ("dashboard panels (htmx)", "admin", "/", hx),
        ("dashboard panels (htmx, engineer)", "eng", "/", hx),
        ("/incidents/", "admin", "/incidents/", {}),
        ("/incidents/ (engineer)", "eng", "/incidents/", {}),
        ("search Persian title", "eng", "/incidents/?search=سامانه", {}),
        ("search Latin title", "eng", "/incidents/?search=bucket", {}),
        ("search reference (Persian digits)", "eng", f"/incidents/?search={_fa(old)}", {}),
        ("/api/events/?after=<recent>", "eng", f"/api/events/?after={head_seq - 20}", {}),
        ("/api/events/?after=0", "eng", "/api/events/?after=0", {}),
        ("/api/events/?after=0&incident=", "eng", f"/api/events/?after=0&incident={old}", {}),
        ("incident page (old, ~50 events)", "eng", f"/incidents/{old}/", {}),
        ("/api/incidents/", "eng", "/api/incidents/", {}),
        ("/api/incidents/<ref>/timeline/", "eng", f"/api/incidents/{old}/timeline/", {}),
    ]


def _fa(text: str) -> str:
    return text.translate(PERSIAN_DIGITS)


def _summary(samples: list[float], queries: int | None) -> dict[str, Any]:
    samples = sorted(samples)
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 2),
        "n": len(samples),
        "queries": queries,
    }


class QueryCounter:
    """Counts the queries of every database connection of this process, whichever thread
    runs it: the test Client may run a view on another thread than the caller's (Django's
    async_to_sync for async middleware), so ``CaptureQueriesContext`` on this thread's
    connection would miss them. Installed on each connection as it is created, through the
    documented ``connection_created`` signal and ``execute_wrapper``."""

    def __init__(self) -> None:
        from django.db import connections
        from django.db.backends.signals import connection_created

        self.count = 0
        self._wrappers = ExitStack()
        connection_created.connect(self._install, weak=False)
        for connection in connections.all(initialized_only=True):
            self._install(None, connection)

    def _install(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        self._wrappers.enter_context(connection.execute_wrapper(self))

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


COUNTER: QueryCounter | None = None


def timed_get(
    client: Any, path: str, n: int, headers: dict[str, str], warm: int = 2
) -> dict[str, Any]:
    for _ in range(warm):  # templates, translations, the connection
        response = client.get(path, **headers)
        assert response.status_code == 200, (path, response.status_code)
    before = COUNTER.count
    client.get(path, **headers)
    queries = COUNTER.count - before
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path, **headers)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return _summary(samples, queries)


def timed_call(fn: Any, n: int, setup: Any = None) -> dict[str, Any]:
    """``fn`` timed ``n`` times (its queries counted once), each after ``setup`` (untimed)."""
    setup = setup or (lambda: None)
    setup()
    fn()
    setup()
    before = COUNTER.count
    fn()
    queries = COUNTER.count - before
    samples = []
    for _ in range(n):
        setup()
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return _summary(samples, queries)


def wanted(name: str) -> bool:
    """Whether ``--only`` (passed to the measuring process as BENCH_SCALE_ONLY) asks for it."""
    words = [w for w in os.environ.get("BENCH_SCALE_ONLY", "").split(",") if w]
    return not words or any(word in name for word in words)


def measure(db: str, size: int, requests: int, rebuild: bool, memory_seconds: float) -> dict:
    """One (database, size): runs in its own process (Django's settings are per process)."""
    from bench.scale_data import configure, ensure

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        configure(db, size, Path(tmp))
        facts = ensure(db, size, rebuild=rebuild)
        global COUNTER
        COUNTER = QueryCounter()
        from django.core.management import call_command

        call_command("compile_translations", verbosity=0)
        result = _measure_reads(facts, requests)
        result["record"] = _measure_record(facts) if wanted("record") else {}
        if memory_seconds and wanted("memory"):
            result["memory"] = _measure_memory(db, size, memory_seconds, tmp)
    return {"db": db, "size": size, "data": facts, **result}


def _clients() -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.test import Client

    clients = {}
    for name in ("admin", "eng", "legal"):
        clients[name] = Client(HTTP_ACCEPT_LANGUAGE="fa")
        clients[name].force_login(User.objects.get(username=name))
    return clients


def _measure_reads(facts: dict[str, Any], requests: int) -> dict[str, Any]:
    from incidents.legal.dossier_parts import gather
    from incidents.models import Incident, LogHead

    clients = _clients()
    head = LogHead.objects.get(id=1).seq
    out = {}
    for name, user, path, headers in reads(facts, head):
        if wanted(name):
            out[name] = {"path": path, **timed_get(clients[user], path, requests, headers)}
    busy = facts["dossier_reference"]
    dossier = f"/api/incidents/{busy}/dossier.pdf"
    if wanted("dossier PDF (500 events)"):
        out["dossier PDF (500 events)"] = {
            "path": dossier,
            **timed_get(clients["legal"], dossier, SLOW_READS, {}, warm=1),
        }
    incident = Incident.objects.get(reference=busy)
    if wanted("dossier_parts.gather (500 events)"):
        out["dossier_parts.gather (500 events)"] = timed_call(lambda: gather(incident), SLOW_READS)
    out.update(_measure_renders(requests))
    return {"reads": out, "head_seq": head}


def _measure_renders(requests: int) -> dict[str, Any]:
    """The dashboard's panels rendered without the cache: what one change costs once per
    variant (the pages above are served the shared render, frontend/panels.py)."""
    from django.contrib.auth.models import User

    from core.roles import roles_of
    from frontend import panels

    out = {}
    for name in ("admin", "eng"):
        user = User.objects.get(username=name)
        variant = panels.variant_of(user.pk, roles_of(user), "fa", panels.time_zone_of(user.pk))
        at = panels.stamp(variant.verifies())
        label = f"dashboard panels render, uncached ({name})"
        if wanted(label):
            out[label] = timed_call(lambda v=variant, a=at: panels.render(v, a), requests)
        # After a transition: the figures it moves (counts, medians, the current month's
        # restore median) are read again, those it cannot move are kept (frontend/metrics.py
        # ``kept``): the render at the transition's seq with the cache as the render just
        # before it left it.
        label = f"dashboard panels render, figures moved ({name})"
        if wanted(label):
            before, after = _around_transition(at)
            out[label] = timed_call(
                lambda v=variant, a=after: panels.render(v, a),
                requests,
                setup=lambda v=variant, b=before: _cleared_then(v, b),
            )
        # Nothing kept (a cache emptied, the first render of a month): every figure read.
        label = f"dashboard panels render, all figures read ({name})"
        if wanted(label):
            out[label] = timed_call(
                lambda v=variant, a=at: panels.render(v, a),
                requests,
                setup=lambda v=variant, a=at: _cleared_then(v, None),
            )
    return out


def _around_transition(at: Any) -> tuple[Any, Any]:
    """Stamps of the log just before and at its newest start of scoping or restoration (of an
    unrestricted incident): a change that moves the counts of the states in progress and the
    90-day medians, as most transitions do during a breach. A restoration also reads the
    closed months again, a refer, close, dismiss or reopen the settled states' counts (the
    "all figures read" row bounds those)."""
    from dataclasses import replace

    from incidents.models import Event

    moves = Event.objects.filter(
        from_state__in=("detected", "scoping"),
        to_state__in=("scoping", "restoring"),
        incident__restricted=False,
    )
    event = moves.order_by("-seq").first()
    previous = Event.objects.get(seq=event.seq - 1)
    return (
        replace(at, seq=previous.seq, head=previous.hash[:16]),
        replace(at, seq=event.seq, head=event.hash[:16]),
    )


def _cleared_then(variant: Any, before: Any) -> None:
    from django.core.cache import cache

    from frontend import panels

    cache.clear()
    if before is not None:
        panels.render(variant, before)


def _measure_record(facts: dict[str, Any]) -> dict[str, Any]:
    from incidents.legal.record import verify_record

    out = {}
    for label, full in (("full", True), ("incremental", False)):
        start = time.perf_counter()
        run = verify_record(full=full)
        seconds = time.perf_counter() - start
        assert run.ok, run.detail
        out[label] = {
            "seconds": round(seconds, 3),
            "events": run.checked,
            "from_seq": run.from_seq,
            "events_per_second": round(run.checked / seconds) if seconds else None,
        }
    return out


def _measure_memory(db: str, size: int, seconds: float, tmp: str) -> dict[str, Any]:
    """Peak RSS of one daphne process serving the dashboard to CLIENTS concurrent sessions."""
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.get(username="admin"))
    cookie = f"sessionid={client.cookies['sessionid'].value}; django_language=fa"
    port = free_port()
    env = {**os.environ, "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    with open(Path(tmp) / "daphne.log", "w") as log:
        server = subprocess.Popen(
            [*command, "core.asgi:application"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            wait_port(port, server)
            return _load(server.pid, f"http://127.0.0.1:{port}/", cookie, seconds)
        finally:
            stop(server)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _load(pid: int, url: str, cookie: str, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    counts = {"ok": 0, "errors": 0}
    lock = threading.Lock()

    def worker() -> None:
        while time.monotonic() < deadline:
            request = urllib.request.Request(url, headers={"Cookie": cookie})
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    response.read()
                    key = "ok" if response.status == 200 else "errors"
            except OSError:
                key = "errors"
            with lock:
                counts[key] += 1

    start_rss = _rss_mib(pid)
    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    peak = start_rss
    while any(t.is_alive() for t in threads):
        peak = max(peak, _rss_mib(pid))
        time.sleep(0.25)
    return {
        "clients": CLIENTS,
        "seconds": seconds,
        "requests_ok": counts["ok"],
        "errors": counts["errors"],
        "requests_per_second": round(counts["ok"] / seconds, 1),
        "rss_start_mib": round(start_rss, 1),
        "rss_peak_mib": round(peak, 1),
        "rss_end_mib": round(_rss_mib(pid), 1),
    }


# --- the run: one process per (database, size), then the table -------------------------------


def environment(dbs: list[str]) -> dict[str, Any]:
    """The versions and machine the README's line names, and the commit measured."""

    def git(*args: str) -> str:
        command = ["git", "--no-optional-locks", "-C", str(ROOT), *args]
        return subprocess.run(command, capture_output=True, text=True).stdout.strip()

    info = {
        "code": git("rev-parse", "--short", "HEAD"),
        "code_dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", ".")),
        "python": platform.python_version(),
        "django": importlib.metadata.version("Django"),
        "djangorestframework": importlib.metadata.version("djangorestframework"),
        "daphne": importlib.metadata.version("daphne"),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
    }
    if "postgres" in dbs:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as c:
            info["postgresql"] = c.execute("SHOW server_version").fetchone()[0]
    return info


def run_one(db: str, size: int, args: argparse.Namespace, memory: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "_measure", db, str(size), str(args.requests)]
    command += [str(args.memory_seconds if memory else 0), "1" if args.rebuild else "0"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    env["BENCH_SCALE_ONLY"] = args.only
    done = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, check=True)
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (read, size, db), with p50 over the smallest size's p50 on the same db."""
    base = {}
    for result in sorted(results, key=lambda r: r["size"]):
        for name, read in result["reads"].items():
            base.setdefault((result["db"], name), read)
    out = []
    for result in results:
        for name, read in result["reads"].items():
            first = base[(result["db"], name)]
            out.append(
                {
                    "read": name,
                    "size": result["size"],
                    "db": result["db"],
                    "p50_ms": read["p50_ms"],
                    "p95_ms": read["p95_ms"],
                    "queries": read["queries"],
                    "ratio": round(read["p50_ms"] / first["p50_ms"], 2),
                    "same_queries": read["queries"] == first["queries"],
                }
            )
    return out


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| read | size | db | p50 ms | p95 ms | queries | ratio to smallest |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in sorted(rows(results), key=lambda r: (r["read"], r["db"], r["size"])):
        queries = f"{row['queries']}" + ("" if row["same_queries"] else " (differs)")
        lines.append(
            f"| {row['read']} | {row['size']:,} | {row['db']} | {row['p50_ms']} | "
            f"{row['p95_ms']} | {queries} | {row['ratio']}x |"
        )
    lines += ["", "| db | size | events | verify full (events/s) | incremental | RSS peak |"]
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        if not r["record"]:  # --only left it out
            continue
        full, inc = r["record"]["full"], r["record"]["incremental"]
        rss = f"{r['memory']['rss_peak_mib']} MiB" if "memory" in r else "-"
        lines.append(
            f"| {r['db']} | {r['size']:,} | {full['events']:,} | {full['seconds']} s "
            f"({full['events_per_second']:,}/s) | {inc['seconds']} s ({inc['events']:,} events) "
            f"| {rss} |"
        )
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_measure":
        db, size, requests, memory, rebuild = sys.argv[2:7]
        result = measure(db, int(size), int(requests), rebuild == "1", float(memory))
        print(json.dumps(result, default=str))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true", help="build the kept databases again")
    parser.add_argument("--memory-seconds", type=float, default=30, help="0: no memory run")
    parser.add_argument(
        "--only", default="", help="comma-separated words: measure only the reads named by one"
    )
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    dbs = args.db.split(",")
    machine = environment(dbs)
    all_results = []
    for db in dbs:
        results = [run_one(db, size, args, memory=size == sizes[-1]) for size in sizes]
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        body = {"machine": machine, "requests": args.requests, "results": results}
        body["rows"] = rows(results)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"scale-{db}-{stamp}.json").write_text(json.dumps(body, indent=2) + "\n")
        all_results += results
    print(table(all_results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
