"""The whole app as `make run` starts it, for end-to-end tests: a fresh SQLite file, translations
compiled, migrated, demo accounts seeded (their printed passwords captured), and daphne on a free
loopback port, always stopped by PID."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def demo_app(tmp: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Yields (base URL, {username: password}) of a running, seeded app."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_", "CHANNELS_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="core.settings",
        DJANGO_DEBUG="1",
        BREACH_DESK_VAR_DIR=str(tmp),
        PYTHONPATH=str(ROOT),
        TELEGRAM_BOT_TOKEN="",
    )
    py = sys.executable
    for command in (["compile_translations"], ["migrate", "-v0"]):
        subprocess.run([py, "manage.py", *command], cwd=ROOT, env=env, check=True, timeout=120)
    seeded = subprocess.run(
        [py, "manage.py", "seed_demo"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    passwords = dict(re.findall(r"^\s+(\w+)\s+\w+\s+(\S+)$", seeded, re.M))
    port = free_port()
    log_path = tmp / "daphne.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [py, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "core.asgi:application"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.time() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.time() > deadline or proc.poll() is not None:
                        pytest.fail("daphne did not start: " + log_path.read_text())
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}", passwords
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
