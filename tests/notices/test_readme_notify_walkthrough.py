"""The README's walkthrough of notices to the people affected, run verbatim against a real daphne
with `make run`'s set-up (the embedded default: no EMAIL_HOST, no SMS gateway, so the worker the
walkthrough runs writes the mails to var/mail/ and the SMS to var/sms/)."""

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
    block = text.split("<!-- notify-walkthrough:start -->", 1)[1]
    block = block.split("<!-- notify-walkthrough:end -->", 1)[0]
    return block.split("```sh", 1)[1].rsplit("```", 1)[0]


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
def test_readme_notify_walkthrough_imports_decides_drafts_approves_and_sends(tmp_path):
    # The walkthrough's own worker is the only one: nothing is sent before it runs.
    with demo_app(tmp_path) as (base, passwords):
        assert {"engineer", "legal", "legal2"} <= set(passwords)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(
                ("DATABASE_URL", "REDIS_URL", "DJANGO_", "CHANNELS_", "EMAIL_", "SMS_")
            )
        }
        env.update(
            BASE=base,
            ENGINEER_PASSWORD=passwords["engineer"],
            LEGAL_PASSWORD=passwords["legal"],
            LEGAL2_PASSWORD=passwords["legal2"],
            # Nothing else of the app's settings: the reader's shell has none of them (only
            # the folder of this test's app, where the reader's is the default var/).
            BREACH_DESK_VAR_DIR=str(tmp_path),
            TELEGRAM_BOT_TOKEN="",
        )
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", walkthrough()],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "['bank_account', 'contact', 'identity']",
        "3",
        "notify True",
        "Dear Sara Ahmadi,",
        "403",
        "approved",
        "finished 3 2 1 0",
        "To: +989351112233",
        "To: ali@example.com",
        "To: sara@example.org",
    ], result.stderr
    # Each letter in its reader's language: Sara's in English, the SMS in Persian.
    mails = "".join(p.read_text() for p in (tmp_path / "mail").iterdir())
    assert "Dear Sara Ahmadi," in mails
    sms = "".join(p.read_text() for p in (tmp_path / "sms").iterdir())
    assert re.search("[\u0600-\u06ff]", sms)
