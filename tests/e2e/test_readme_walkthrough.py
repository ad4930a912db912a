"""The README's curl walkthrough, run verbatim against a real daphne with `make run`'s set-up."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.servers import demo_app

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- walkthrough:start -->", 1)[1].split("<!-- walkthrough:end -->", 1)[0]
    return block.split("```sh", 1)[1].rsplit("```", 1)[0]


@pytest.fixture
def served_app(tmp_path):
    """The app as `make run` serves it (tests/e2e/servers.py), on a fresh SQLite file."""
    with demo_app(tmp_path) as app:
        yield app


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
            "ADMIN_PASSWORD": passwords["admin"],
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"logged INC-\d{4}-\d{4}", lines[0])
    assert lines[1:14] == [
        "scoping",
        "['attack_vector', 'affected_systems', 'affected_subjects_estimate', 'tasks']",
        "3",
        "True",  # the engineer's own task, done
        "note",
        "engineer",  # the status update's author
        # the scoping phase's required tasks: preserve the logs, find since when it was exposed
        "engineer",
        "engineer",
        "restoring",
        # correct the configuration; the admin confirms the fix as a second engineer
        "engineer",
        "admin",
        "restored",
        "referred",
    ]
    kinds = [line.split()[1] for line in lines[14:]]
    assert kinds == [
        "created",
        "start_scoping",
        "updated",
        "task.added",
        "task.done",
        "note",
        "status_update",
        "task.done",
        "task.done",
        "start_restoration",
        "task.done",
        "task.done",
        "mark_restored",
        "refer",
    ]
