"""The README's curl walkthrough, run verbatim against a real daphne with `make run`'s set-up."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- walkthrough:start -->", 1)[1].split("<!-- walkthrough:end -->", 1)[0]
    return block.split("```sh", 1)[1].rsplit("```", 1)[0]


@pytest.fixture
def served_app(tmp_path):
    """migrate + seed_demo (as `make run` does) + daphne on a free port, on a fresh SQLite file."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="core.settings",
        DJANGO_DEBUG="1",
        BREACH_DESK_VAR_DIR=str(tmp_path),
        PYTHONPATH=str(ROOT),
        TELEGRAM_BOT_TOKEN="",
    )
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    seeded = subprocess.run(
        [py, "manage.py", "seed_demo"], cwd=ROOT, env=env, check=True, capture_output=True,
        text=True, timeout=120,
    ).stdout
    passwords = dict(re.findall(r"^\s+(\w+)\s+\w+\s+(\S+)$", seeded, re.M))
    port = free_port()
    log = open(tmp_path / "daphne.log", "w")
    proc = subprocess.Popen(
        [py, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "core.asgi:application"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    pytest.fail("daphne did not start: " + (tmp_path / "daphne.log").read_text())
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", passwords
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
def test_readme_curl_walkthrough_works_verbatim(served_app):
    base, passwords = served_app
    assert {"engineer", "legal", "executive", "admin"} <= set(passwords)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", walkthrough()],
        env={
            **os.environ,
            "BASE": base,
            "ENGINEER_PASSWORD": passwords["engineer"],
            "LEGAL_PASSWORD": passwords["legal"],
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"logged INC-\d{4}-\d{4}", lines[0])
    assert lines[1:7] == [
        "scoping",
        "['attack_vector', 'affected_systems', 'affected_subjects_estimate']",
        "3",
        "restoring",
        "restored",
        "referred",
    ]
    kinds = [line.split()[1] for line in lines[7:]]
    assert kinds == [
        "created", "start_scoping", "updated", "start_restoration", "mark_restored", "refer"
    ]
