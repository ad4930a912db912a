"""Servers a test starts as real processes on loopback: a free port, waiting for it to listen,
stopping by PID, and daphne serving the app. No pytest here: the API fuzz (tests/fuzz/) runs
outside pytest and starts its daphne the same way."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class DidNotStart(RuntimeError):
    """The process exited, or did not listen in time; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise DidNotStart(f"{proc.args[0]} did not start:\n{tail}") from None
            time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 10 s: the process is gone when this returns."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def running_daphne(
    env: dict[str, str], log: Path, *options: str
) -> Iterator[tuple[int, subprocess.Popen]]:
    """daphne serving core.asgi on a free loopback port with ``env`` (and any daphne
    ``options``), its output in ``log``; yields (port, process) once it listens, and stops it
    by PID on the way out."""
    port = free_port()
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), *options]
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [*command, "core.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, proc, log)
            yield port, proc
        finally:
            stop(proc)
