"""What the benchmark scripts share: paths, the environment of a bench process, a fresh
PostgreSQL database, and starting / stopping servers on loopback (always by PID).

The scripts run as ``python bench/<name>.py``; each puts the repository root on ``sys.path``
before importing this module. Nothing here imports the test suite."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def bench_env(var: Path | str, *, settings: str = "core.settings", **extra: str) -> dict[str, str]:
    """This process's environment without any database or Redis URL, plus a bench-only secret,
    loopback hosts and its own ``var`` directory (so the SQLite default is a fresh file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE=settings,
        DJANGO_SECRET_KEY="bench-only",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        BREACH_DESK_VAR_DIR=str(var),
        PYTHONPATH=str(ROOT),
        LOG_LEVEL="WARNING",
    )
    # The record's signing key, required with DJANGO_DEBUG=0: the tests' fixed one, unless the
    # shell names another (a file only; nothing of the test suite is imported).
    env.setdefault("RECORD_SIGNING_KEY", str(ROOT / "tests" / "record_signing_test_key.pem"))
    env.update(extra)
    return env


def fresh_postgres(name: str) -> str:
    """Drop and create database ``name`` on the local PostgreSQL; returns its DATABASE_URL."""
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def process_counters(pid: int) -> tuple[float, int] | None:
    """CPU seconds (user + system) and context switches (voluntary + involuntary, summed over
    its threads) that process ``pid`` has used so far, from Linux's /proc; None elsewhere.

    Differences over a load run give the cost per request independently of how fast the load
    generator happened to be, which is steadier than req/s on a noisy machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        switches = 0
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                status = (task / "status").read_text()
            except OSError:  # the thread ended between listing and reading
                continue
            switches += sum(
                int(line.split()[1]) for line in status.splitlines() if "ctxt_switches" in line
            )
    except (OSError, ValueError, IndexError):
        return None
    return cpu, switches


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{proc.args} did not start") from None
            time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
