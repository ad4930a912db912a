"""Transition endpoint vs a bare Django view, on daphne, driven by wrk (32 connections).

    .venv/bin/python bench/transitions.py [--db sqlite|postgres|both] [--duration 15] [--threads N]

Needs Debian's `wrk` (apt-get install wrk). Every request is a real transition (token auth, row
lock, guard, save, event append): request n runs `start_scoping` on the n-th pre-created
incident, so connections never contend for one incident and none can legitimately fail; any
non-2xx or socket error is counted. The bare view runs in the same script, on the same server
process, with the same load generator, so the ratio is robust to this noisy machine.
Results land in bench/results/ and are summarised in bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
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


def child_env(db: str, var: Path, threads: int | None = None) -> dict[str, str]:
    """The server's and the set-up's environment; on PostgreSQL, a freshly created database.
    ``threads`` overrides WEB_REQUEST_THREADS (None: the setting's default)."""
    extra = {"DATABASE_URL": fresh_postgres("bench_transitions")} if db == "postgres" else {}
    if threads is not None:
        extra["WEB_REQUEST_THREADS"] = str(threads)
    return bench_env(var, settings="bench.bench_settings", **extra)


def prepare(env: dict[str, str], count: int) -> dict:
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run(
        [py, __file__, "_setup", str(count)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def setup_data(count: int) -> None:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from incidents.lifecycle import create_incident

    user = User.objects.create_superuser("bench", password="bench-password-long")
    token = Token.objects.create(user=user).key
    for i in range(count):
        incident, _ = create_incident(actor=user, data={"title": f"bench {i}", "severity": "low"})
    print(json.dumps({"token": token, "year": incident.ref_year}))


WRK_SCRIPT = """
local counter = 0
local nthreads = %(threads)d
local ids = 0
function setup(thread)
  thread:set("id", ids)
  ids = ids + 1
end
function init(args)
  wrk.headers["Authorization"] = "Token %(token)s"
  wrk.headers["Content-Type"] = "application/json"
end
request = function()
  if %(transition)s then
    local n = id + counter * nthreads + 1
    counter = counter + 1
    local path = string.format("/api/incidents/INC-%(year)d-%%04d/transitions/start_scoping/", n)
    return wrk.format("POST", path, nil, "{}")
  end
  return wrk.format("GET", "/bench/bare/")
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p99_us\\": %%d, " ..
    "\\"max_us\\": %%d, \\"errors\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def wrk(
    base: str,
    *,
    transition: bool,
    token: str,
    year: int,
    duration: float,
    connections: int,
    tmp: Path,
    server_pid: int,
) -> dict:
    """One wrk run; besides wrk's numbers, the server's CPU time and context switches per
    request (``None`` where /proc is missing), which vary less than req/s between runs."""
    threads = min(2, connections)
    script = tmp / ("transition.lua" if transition else "bare.lua")
    script.write_text(
        WRK_SCRIPT
        % {
            "threads": threads,
            "token": token,
            "year": year,
            "transition": "true" if transition else "false",
        }
    )
    before = process_counters(server_pid)
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
    raw = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    seconds = raw["duration_us"] / 1e6
    per_request = [None, None]
    if before and after and raw["requests"]:
        per_request = [(a - b) / raw["requests"] for a, b in zip(after, before, strict=True)]
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "errors": raw["errors"],
        "server_cpu_ms_per_request": _rounded(per_request[0], 1000, 3),
        "server_switches_per_request": _rounded(per_request[1], 1, 1),
    }


def _rounded(value: float | None, scale: float, digits: int) -> float | None:
    return None if value is None else round(value * scale, digits)


def run_one(db: str, duration: float, connections: int, threads: int | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-transitions-") as tmp_name:
        tmp = Path(tmp_name)
        env = child_env(db, tmp, threads)
        # Enough incidents for a transition rate well above anything this machine reaches.
        data = prepare(env, int(duration * 400))
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
        try:
            wait_port(port, proc)
            base = f"http://127.0.0.1:{port}"
            common = {
                "token": data["token"],
                "year": data["year"],
                "connections": connections,
                "tmp": tmp,
                "server_pid": proc.pid,
            }
            wrk(base, transition=False, duration=3, **common)  # warm-up
            bare = wrk(base, transition=False, duration=duration, **common)
            trans = wrk(base, transition=True, duration=duration, **common)
        finally:
            stop(proc)
            log.close()
    return {
        "db": db,
        "connections": connections,
        "request_threads": threads,
        "duration_s": duration,
        "bare": bare,
        "transition": trans,
        "throughput_ratio": round(trans["rps"] / bare["rps"], 3),
        "p99_ratio": round(trans["p99_ms"] / bare["p99_ms"], 3),
        "cpu_ratio": _ratio(bare["server_cpu_ms_per_request"], trans["server_cpu_ms_per_request"]),
    }


def _ratio(bare: float | None, transition: float | None) -> float | None:
    """Bare CPU per request over the transition's: the throughput ratio a CPU-bound server
    would reach, without the load generator's noise."""
    return None if not bare or not transition else round(bare / transition, 3)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_setup":
        setup_data(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--threads", type=int, help="WEB_REQUEST_THREADS for the server (default: the setting's)"
    )
    args = parser.parse_args()
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    if not shutil.which("wrk"):
        sys.exit("bench/transitions.py needs wrk: apt-get install wrk")
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    RESULTS.mkdir(exist_ok=True)
    columns = ["req/s", "p50 ms", "p99 ms", "max ms", "errors", "CPU ms/req", "switches/req"]
    keys = ["rps", "p50_ms", "p99_ms", "max_ms", "errors"]
    keys += ["server_cpu_ms_per_request", "server_switches_per_request"]
    print("| db | endpoint | " + " | ".join(columns) + " |")
    print("| --- | --- |" + " ---: |" * len(columns))
    for db in dbs:
        result = run_one(db, args.duration, args.connections, args.threads)
        suffix = "" if args.threads is None else f"-{args.threads}threads"
        (RESULTS / f"transitions-{db}{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
        for kind in ("bare", "transition"):
            cells = [str(result[kind][key]) for key in keys]
            print(f"| {db} | {kind} | " + " | ".join(cells) + " |")
        ratios = [result["throughput_ratio"], "", result["p99_ratio"], "", ""]
        ratios += [result["cpu_ratio"], ""]
        print(f"| {db} | ratio | " + " | ".join(map(str, ratios)) + " |")


if __name__ == "__main__":
    main()
