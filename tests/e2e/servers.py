"""The whole app as `make run` starts it, for end-to-end tests: a fresh SQLite file, translations
compiled, migrated, demo accounts seeded (their printed passwords captured), and daphne on a free
loopback port, always stopped by PID."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.processes import ROOT, running_daphne


def demo_env(var_dir: Path | str) -> dict[str, str]:
    """The environment `make run` gives its processes (the web server, the worker): the
    embedded default, DEBUG, its files in ``var_dir``, no Telegram."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_", "CHANNELS_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="core.settings",
        DJANGO_DEBUG="1",
        BREACH_DESK_VAR_DIR=str(var_dir),
        PYTHONPATH=str(ROOT),
        TELEGRAM_BOT_TOKEN="",
    )
    return env


@contextmanager
def demo_app(tmp: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """Yields (base URL, {username: password}) of a running, seeded app."""
    env = demo_env(tmp)
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
    # As `make run` does: the demo rotation, so the on-call page and block have someone on call.
    subprocess.run(
        [py, "manage.py", "seed_oncall_demo"], cwd=ROOT, env=env, check=True, timeout=120
    )
    with running_daphne(env, tmp / "daphne.log") as (port, _proc):
        yield f"http://127.0.0.1:{port}", passwords
