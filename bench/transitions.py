"""The transition endpoint vs a GET and a PATCH of the same resource, on daphne, driven by wrk.

    .venv/bin/python bench/transitions.py [--db sqlite|postgres|both] [--duration 15]
        [--connections 32] [--max-rate 600]

Issue 16's comparison. One run, per database, starts one daphne process on 127.0.0.1 with a
fresh database and measures on it, in turn, with the same token, load generator and data:

  get         GET   /api/incidents/INC-<year>-<n>/
              (token auth, role check, the full incident response)
  patch       PATCH /api/incidents/INC-<year>-<n>/ {"summary": "bench <n>"}, If-Match: "1"
              (the same, plus row lock, version check, save, hash-chained event append)
  transition  POST  /api/incidents/INC-<year>-<n>/transitions/start_scoping/ {}
              (the same, plus the state machine and its guards)

Each write endpoint has its own range of pre-created incidents and request n acts on the n-th of
its range, once, so no request contends with another or can legitimately fail (a PATCH moves its
incident from version 1 to 2, a transition from detected to scoping); the GET cycles over the
PATCH range before any PATCH runs. The ranges are sized for --max-rate requests per second over
the whole run (far above what this stack reaches); a run that would go past its range stops and
is reported as such. Any non-2xx answer or socket error is counted.

Needs Debian's `wrk` (apt-get install wrk). Besides wrk's numbers, each run reports the server's
CPU time and context switches per request, read from /proc before and after (Linux only), and
the cores other processes kept busy meanwhile. No application tuning variable is set.
Results land in bench/results/transitions-<db>-<UTC time>.json and bench/README.md.

The server and the set-up run with PYTHONPATH and cwd set to this checkout (a git worktree of an
older commit measures that commit's code, not the editable install's); the set-up reports the
``core`` package it imported and the run stops if it is not this checkout's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from string import Template

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

ENDPOINTS = ("get", "patch", "transition")
WARMUP_GET_S = 3  # the GET warm-up (cycles over the PATCH range, read only)
WARMUP_WRITE_S = 1  # each write endpoint's warm-up, on a range of its own
# Issue 16's goal for the transition, against the other two endpoints of the same run.
GOALS = {"rps_vs_get": 0.5, "rps_vs_patch": 0.8, "p99_vs_get": 3.0}


def child_env(db: str, var: Path) -> dict[str, str]:
    """The server's and the set-up's environment; on PostgreSQL, a freshly created database.
    No application tuning knob is set: the run measures the settings' defaults."""
    extra = {"DATABASE_URL": fresh_postgres("bench_transitions")} if db == "postgres" else {}
    return bench_env(var, DJANGO_DEBUG="0", **extra)


# --- set-up (a child process with the server's environment) ---------------------------------


def prepare(env: dict[str, str], count: int) -> dict:
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    started = time.monotonic()
    out = subprocess.run(
        [py, __file__, "_setup", str(count)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if out.returncode:
        sys.stderr.write(out.stderr[-4000:])
        raise RuntimeError(f"the set-up failed (exit {out.returncode})")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    data["setup_s"] = round(time.monotonic() - started, 1)
    core = Path(data["core_file"]).resolve()
    if not core.is_relative_to(ROOT):
        raise RuntimeError(f"the set-up imported {core}, not this checkout's code ({ROOT})")
    if data["numbers"] != [1, count]:
        raise RuntimeError(f"expected incidents numbered 1..{count}, got {data['numbers']}")
    return data


def setup_data(count: int) -> None:
    """Create the bench user, its token and ``count`` incidents (detected, version 1), numbered
    1..count in this year; print what the run needs as one JSON line."""
    import django

    django.setup()
    from django.contrib.auth.models import User

    import core
    from core.models import ApiToken

    user = User.objects.create_superuser("bench", password="bench-password-long")
    token = ApiToken.issue(user)[1]
    create = _incident_creator(user, token)
    numbers = _create_in_batches(create, count)
    year = numbers[0][0]
    if any(y != year for y, _ in numbers):
        raise RuntimeError("the incidents span two years; run again")
    print(
        json.dumps(
            {
                "token": token,
                "year": year,
                "numbers": [numbers[0][1], numbers[-1][1]],
                "created_via": create.__doc__,
                "core_file": core.__file__,
            }
        )
    )


def _create_in_batches(create, count: int, batch: int = 500) -> list[tuple[int, int]]:
    """``create`` for 0..count-1, ``batch`` at a time in one transaction (one commit per batch
    instead of one per incident; ~12 % faster on SQLite); one by one if the creator refuses to
    run inside a transaction (a durable ``atomic``)."""
    from django.db import transaction

    numbers: list[tuple[int, int]] = []
    try:
        with transaction.atomic():
            numbers.append(create(0))
    except RuntimeError:  # "A durable atomic block cannot be nested within another atomic block."
        numbers.append(create(0))
        batch = 1
    for start in range(1, count, batch):
        if batch == 1:
            numbers.append(create(start))
            continue
        with transaction.atomic():
            numbers.extend(create(i) for i in range(start, min(start + batch, count)))
    return numbers


def _incident_creator(user, token: str):
    """A function that creates the i-th bench incident and returns its (year, number): the
    domain function where it is found (``incidents.lifecycle.create_incident``), otherwise a
    ``POST /api/incidents/`` through Django's test client, in this process."""
    try:
        from incidents.lifecycle import create_incident
    except ImportError:
        create_incident = None
    if create_incident is not None:

        def create(i: int) -> tuple[int, int]:
            """incidents.lifecycle.create_incident"""
            incident, _event = create_incident(
                actor=user, data={"title": f"bench {i}", "severity": "low"}
            )
            return incident.ref_year, incident.ref_number

        return create

    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {token}")

    def create(i: int) -> tuple[int, int]:
        """POST /api/incidents/ (test client)"""
        answer = client.post(
            "/api/incidents/", {"title": f"bench {i}", "severity": "low"}, "application/json"
        )
        if answer.status_code != 201:
            raise RuntimeError(f"POST /api/incidents/: {answer.status_code} {answer.content!r}")
        _inc, year, number = answer.json()["reference"].split("-")
        return int(year), int(number)

    return create


# --- the load ------------------------------------------------------------------------------

WRK_SCRIPT = Template(
    """
local nthreads = $threads
local first = $first      -- number of the range's first incident
local size = $size        -- incidents in the range
local cycle = $cycle      -- true: wrap around (reads); false: each incident once (writes)
local kind = "$kind"
local counter = 0
past = 0                  -- a global, so that done() can read it through thread:get
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
-- wrk.format uses the table it is given instead of wrk.headers, so each holds the token.
local token = "Token $token"
local get_headers = {["Authorization"] = token}
local post_headers = {["Authorization"] = token, ["Content-Type"] = "application/json"}
local patch_headers = {
  ["Authorization"] = token, ["Content-Type"] = "application/json", ["If-Match"] = '"1"'
}
request = function()
  local k = id + counter * nthreads
  counter = counter + 1
  if k >= size then
    if cycle then
      k = k % size
    else
      -- Past the pre-created range: stop this thread; the run is reported as cut short.
      past = past + 1
      wrk.thread:stop()
    end
  end
  local n = first + k
  local path = string.format("/api/incidents/INC-$year-%04d/", n)
  if kind == "patch" then
    return wrk.format("PATCH", path, patch_headers, string.format('{"summary": "bench %d"}', n))
  elseif kind == "transition" then
    return wrk.format("POST", path .. "transitions/start_scoping/", post_headers, "{}")
  end
  return wrk.format("GET", path, get_headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  local beyond = 0
  for _, t in ipairs(threads) do beyond = beyond + t:get("past") end
  io.write(string.format(
    "RESULT {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d, " ..
    "\\"max_us\\": %d, \\"errors\\": %d, \\"past_range\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.status + e.timeout, beyond))
end
"""
)


def wrk(
    base: str,
    *,
    kind: str,
    first: int,
    size: int,
    token: str,
    year: int,
    duration: float,
    connections: int,
    tmp: Path,
    server_pid: int,
) -> dict:
    """One wrk run of ``kind`` on incidents first..first+size-1; besides wrk's numbers, the
    server's CPU time and context switches per request (``None`` where /proc is missing),
    which vary less than req/s between runs."""
    threads = min(2, connections)
    script = tmp / f"{kind}.lua"
    script.write_text(
        WRK_SCRIPT.substitute(
            threads=threads,
            first=first,
            size=size,
            cycle="true" if kind == "get" else "false",
            kind=kind,
            token=token,
            year=year,
        )
    )
    before = process_counters(server_pid)
    machine_before, wrk_before, wall_before = _machine_cpu(), _children_cpu(), time.monotonic()
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{int(duration)}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    after = process_counters(server_pid)
    machine_after, wrk_after, wall_after = _machine_cpu(), _children_cpu(), time.monotonic()
    raw = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    seconds = raw["duration_us"] / 1e6
    per_request = [None, None]
    others = None
    if before and after and raw["requests"]:
        per_request = [(a - b) / raw["requests"] for a, b in zip(after, before, strict=True)]
        if machine_before is not None and machine_after is not None:
            others = machine_after - machine_before - (after[0] - before[0])
            others = max(0.0, others - (wrk_after - wrk_before)) / (wall_after - wall_before)
    return {
        "incidents": [first, first + size - 1],
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "errors": raw["errors"],
        "past_range": raw["past_range"],
        "server_cpu_ms_per_request": _rounded(per_request[0], 1000, 3),
        "server_switches_per_request": _rounded(per_request[1], 1, 1),
        # Cores busy outside daphne and wrk during the run (PostgreSQL's backends included):
        # ~0 on SQLite when nothing else runs on the machine.
        "other_cpu_cores": _rounded(others, 1, 2),
    }


def _machine_cpu() -> float | None:
    """CPU seconds all cores have spent busy since boot (Linux's /proc/stat), None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    """CPU seconds this process's finished children have used (wrk, once it has exited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rounded(value: float | None, scale: float, digits: int) -> float | None:
    return None if value is None else round(value * scale, digits)


def probe(base: str, token: str, year: int, get_n: int, patch_n: int, transition_n: int) -> None:
    """One request of each kind before any load, each on an incident of its own: the set-up is
    what the runs assume (200 answers, versions 1 -> 2), or the run stops here."""
    checks = [
        ("GET", f"/api/incidents/INC-{year}-{get_n:04d}/", None, {}, '"1"'),
        (
            "PATCH",
            f"/api/incidents/INC-{year}-{patch_n:04d}/",
            {"summary": f"bench {patch_n}"},
            {"If-Match": '"1"'},
            '"2"',
        ),
        (
            "POST",
            f"/api/incidents/INC-{year}-{transition_n:04d}/transitions/start_scoping/",
            {},
            {},
            '"2"',
        ),
    ]
    for method, path, body, headers, etag in checks:
        request = urllib.request.Request(
            base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Token {token}",
                **({} if body is None else {"Content-Type": "application/json"}),
                **headers,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                status, got = answer.status, answer.headers.get("ETag")
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method} {path}: {error.code} {error.read()[:300]!r}") from None
        if status != 200 or got != etag:
            raise RuntimeError(f"{method} {path}: {status}, ETag {got} (expected 200, {etag})")


def run_one(db: str, duration: float, connections: int, max_rate: float) -> dict:
    """Set up, start daphne, probe, warm up, then measure GET, PATCH and transition in turn."""
    # Incident numbers: 1-3 probes; then, per write endpoint, a warm-up range and a measured
    # range (the GET cycles over the PATCH measured range).
    measured = math.ceil(max_rate * duration)
    warm = math.ceil(max_rate * WARMUP_WRITE_S)
    ranges: dict[str, tuple[int, int]] = {}
    start = 4
    for name, size in (
        ("patch_warmup", warm),
        ("patch", measured),
        ("transition_warmup", warm),
        ("transition", measured),
    ):
        ranges[name] = (start, size)
        start += size
    ranges["get"] = ranges["get_warmup"] = ranges["patch"]
    count = start - 1
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-transitions-") as tmp_name:
        tmp = Path(tmp_name)
        env = child_env(db, tmp)
        data = prepare(env, count)
        print(
            f"[{db}] {count} incidents via {data['created_via']} in {data['setup_s']} s; "
            f"code: {data['core_file']}",
            file=sys.stderr,
        )
        port = free_port()
        log = open(tmp / "daphne.log", "w")
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
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        results: dict[str, dict] = {}
        warmups: dict[str, dict] = {}
        try:
            wait_port(port, proc)
            base = f"http://127.0.0.1:{port}"
            probe(base, data["token"], data["year"], 1, 2, 3)
            common = {
                "token": data["token"],
                "year": data["year"],
                "connections": connections,
                "tmp": tmp,
                "server_pid": proc.pid,
            }

            def load(kind: str, range_name: str, seconds: float) -> dict:
                first, size = ranges[range_name]
                return wrk(base, kind=kind, first=first, size=size, duration=seconds, **common)

            warmups["get"] = load("get", "get_warmup", WARMUP_GET_S)
            warmups["patch"] = load("patch", "patch_warmup", WARMUP_WRITE_S)
            warmups["transition"] = load("transition", "transition_warmup", WARMUP_WRITE_S)
            for kind in ENDPOINTS:
                results[kind] = load(kind, kind, duration)
        except Exception:
            log.flush()
            sys.stderr.write((tmp / "daphne.log").read_text()[-4000:])
            raise
        finally:
            stop(proc)
            log.close()
    get, patch, trans = (results[k] for k in ENDPOINTS)
    ratios = {
        "rps_vs_get": round(trans["rps"] / get["rps"], 3),
        "rps_vs_patch": round(trans["rps"] / patch["rps"], 3),
        "p99_vs_get": round(trans["p99_ms"] / get["p99_ms"], 3),
        # The throughput ratios a CPU-bound server reaches (the other's CPU per request over
        # the transition's), steadier than req/s on this noisy machine.
        "cpu_vs_get": _ratio(get["server_cpu_ms_per_request"], trans["server_cpu_ms_per_request"]),
        "cpu_vs_patch": _ratio(
            patch["server_cpu_ms_per_request"], trans["server_cpu_ms_per_request"]
        ),
    }
    cut_short = [k for k in ENDPOINTS if results[k]["past_range"] or warmups[k]["past_range"]]
    goals = {
        "rps_vs_get": ratios["rps_vs_get"] >= GOALS["rps_vs_get"],
        "rps_vs_patch": ratios["rps_vs_patch"] >= GOALS["rps_vs_patch"],
        "p99_vs_get": ratios["p99_vs_get"] <= GOALS["p99_vs_get"],
        "zero_errors": all(results[k]["errors"] == 0 for k in ENDPOINTS),
        "within_ranges": not cut_short,
    }
    return {
        "db": db,
        "connections": connections,
        "duration_s": duration,
        "max_rate": max_rate,
        "incidents": count,
        "setup_s": data["setup_s"],
        "created_via": data["created_via"],
        "core_file": data["core_file"],
        # Before this database's set-up; for the second database of a run it includes the
        # first one's load. other_cpu_cores (per endpoint) says what else ran meanwhile.
        "load_average_before": [round(x, 2) for x in load_before],
        "busy": load_before[0] > 0.5,
        **{kind: results[kind] for kind in ENDPOINTS},
        "warmups": warmups,
        "ratios": ratios,
        "goal": GOALS,
        "goal_met": goals,
        "cut_short": cut_short,
    }


def _ratio(other: float | None, transition: float | None) -> float | None:
    return None if not other or not transition else round(other / transition, 3)


def environment(dbs: list[str]) -> dict:
    """What the README's machine line needs, read off this run."""

    def version(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(ROOT), *args],
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    info = {
        "code": git("rev-parse", "--short", "HEAD"),
        # Changes to the application (bench/ itself excluded: a worktree of an older commit
        # runs with the bench scripts of the newer one).
        "code_dirty": bool(
            git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench")
        ),
        "checkout": str(ROOT),
        "python": platform.python_version(),
        "django": version("Django"),
        "daphne": version("daphne"),
        "djangorestframework": version("djangorestframework"),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(
            "\n", 1
        )[0],
    }
    if "postgres" in dbs:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres") as c:
            info["postgresql"] = c.execute("SHOW server_version").fetchone()[0]
    return info


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_setup":
        setup_data(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=float, default=15, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--max-rate",
        type=float,
        default=600,
        help="requests/s each write endpoint's pre-created incidents are sized for (default 600)",
    )
    args = parser.parse_args()
    if args.duration < 1 or args.connections < 1 or args.max_rate <= 0:
        parser.error("--duration and --connections must be at least 1, --max-rate positive")
    if not shutil.which("wrk"):
        sys.exit("bench/transitions.py needs wrk: apt-get install wrk")
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    RESULTS.mkdir(exist_ok=True)
    load_at_start = os.getloadavg()
    env_info = {**environment(dbs), "load_average_at_start": [round(x, 2) for x in load_at_start]}
    print(json.dumps(env_info), file=sys.stderr)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    columns = ["req/s", "p50 ms", "p99 ms", "max ms", "errors", "CPU ms/req", "switches/req"]
    columns.append("other cores")
    keys = ["rps", "p50_ms", "p99_ms", "max_ms", "errors"]
    keys += ["server_cpu_ms_per_request", "server_switches_per_request", "other_cpu_cores"]
    rows = ["| db | endpoint | " + " | ".join(columns) + " |"]
    rows.append("| --- | --- |" + " ---: |" * len(columns))
    summaries = []
    cut_short = False
    for db in dbs:
        result = {
            "environment": env_info,
            **run_one(db, args.duration, args.connections, args.max_rate),
        }
        (RESULTS / f"transitions-{db}-{stamp}.json").write_text(json.dumps(result, indent=2) + "\n")
        for kind in ENDPOINTS:
            cells = [str(result[kind][key]) for key in keys]
            rows.append(f"| {db} | {kind} | " + " | ".join(cells) + " |")
        summaries.append(summary(result))
        cut_short = cut_short or bool(result["cut_short"])
    print("\n".join(rows))
    print("\n".join(summaries))
    print(f"results: bench/results/transitions-{{{','.join(dbs)}}}-{stamp}.json")
    if cut_short:
        sys.exit("a run went past its pre-created incidents: its figures are not valid")


def summary(result: dict) -> str:
    """The ratios and the goal's verdicts, one line per database."""
    r, met = result["ratios"], result["goal_met"]
    load = f"{'busy' if result['busy'] else 'quiet'}, load {result['load_average_before'][0]}"
    parts = [
        f"transition/GET {r['rps_vs_get']}x (>= {GOALS['rps_vs_get']}:"
        f" {_verdict(met['rps_vs_get'])})",
        f"transition/PATCH {r['rps_vs_patch']}x (>= {GOALS['rps_vs_patch']}:"
        f" {_verdict(met['rps_vs_patch'])})",
        f"p99 transition/GET {r['p99_vs_get']}x (<= {GOALS['p99_vs_get']}:"
        f" {_verdict(met['p99_vs_get'])})",
        f"zero errors: {_verdict(met['zero_errors'])}",
        f"CPU ratios GET/transition {r['cpu_vs_get']}, PATCH/transition {r['cpu_vs_patch']}",
    ]
    if result["cut_short"]:
        parts.append(f"CUT SHORT (raise --max-rate): {', '.join(result['cut_short'])}")
    return f"{result['db']} ({load}): " + "; ".join(parts)


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


if __name__ == "__main__":
    main()
