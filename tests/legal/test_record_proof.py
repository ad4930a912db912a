"""The record's proof for the dossier ZIP: a recipient runs record/verify_record.py (standard
library and cryptography only) against the export's incident.json, without the app; it passes
on a real export and fails on a tampered one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from incidents.legal.dossier_export import export_json
from incidents.legal.dossier_parts import gather
from incidents.legal.record_proof import proof_files
from incidents.legal.record_signing import public_key_fingerprint, sign_checkpoint
from incidents.models import CheckpointReason, Event
from incidents.notes import add_note

pytestmark = pytest.mark.django_db


@pytest.fixture
def exported(settings: Any, tmp_path: Path, incident_in: Any, users: Any) -> Path:
    """An unpacked export of one incident whose events interleave with another's."""
    settings.RECORD_CHECKPOINT_EVERY = 4
    ours = incident_in("restored")
    theirs = incident_in("scoping")
    for n in range(6):
        add_note(ours if n % 2 else theirs, actor=users["engineer"], text=f"Zwischenstand {n}")
    add_note(ours, actor=users["engineer"], text="یادداشت فارسی")
    checkpoint = sign_checkpoint(CheckpointReason.EXPORT, incident=ours)
    add_note(ours, actor=users["engineer"], text="after the export's checkpoint")
    (tmp_path / "incident.json").write_bytes(export_json(gather(ours)))
    for name, blob in proof_files(ours, checkpoint).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(blob)
    return tmp_path


def run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The verifier as a recipient runs it: its own interpreter, no Django, no project."""
    return subprocess.run(
        [sys.executable, "-I", "record/verify_record.py", "incident.json", "record", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )


def edit(path: Path, change: Any) -> None:
    body = json.loads(path.read_text(encoding="utf-8"))
    change(body)
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")


def test_a_real_export_verifies_offline(exported):
    result = run(exported, "--fingerprint", public_key_fingerprint())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: INC-" in result.stdout
    assert f"signing key: {public_key_fingerprint()}" in result.stdout
    files = sorted(p.name for p in (exported / "record").iterdir())
    assert files == ["checkpoints.json", "events.json", "public-key.pem", "verify_record.py"]


def test_the_zip_carries_the_incidents_events_only(exported):
    events = json.loads((exported / "record" / "events.json").read_text())["events"]
    reference = json.loads((exported / "incident.json").read_text())["incident"]["reference"]
    ours = Event.objects.filter(incident__reference=reference).values_list("seq", flat=True)
    assert [e["seq"] for e in events] == sorted(ours)[:-1]  # the note after the checkpoint


def test_an_edited_timeline_fails(exported):
    def change(body: dict) -> None:
        note = next(e for e in body["timeline"] if e["kind"] == "note")
        note["data"]["text"] = "nothing to see"

    edit(exported / "incident.json", change)
    result = run(exported)
    assert result.returncode == 1
    assert "differs from the record: ['data']" in result.stdout


def test_an_edited_record_fails_on_its_hash(exported):
    def change(body: dict) -> None:
        body["events"][0]["actor"] = "mallory"

    edit(exported / "record" / "events.json", change)
    result = run(exported)
    assert result.returncode == 1 and "does not match its hash" in result.stdout


def test_an_event_left_out_of_both_files_fails_on_the_signed_digest(exported):
    def drop(key: str) -> Any:
        def change(body: dict) -> None:
            body[key] = [e for e in body[key] if e["kind"] != "note"]

        return change

    edit(exported / "incident.json", drop("timeline"))
    edit(exported / "record" / "events.json", drop("events"))
    result = run(exported)
    assert result.returncode == 1 and "not the one the export checkpoint" in result.stdout


def test_a_forged_signature_fails(exported):
    def change(body: dict) -> None:
        checkpoint = body["checkpoints"][-1]
        checkpoint["events_digest"] = "0" * 64

    edit(exported / "record" / "checkpoints.json", change)
    result = run(exported)
    assert result.returncode == 1 and "signature does not verify" in result.stdout


def test_a_key_other_than_the_one_on_paper_fails(exported):
    result = run(exported, "--fingerprint", "ab" * 32)
    assert result.returncode == 1 and "no key in record has the fingerprint" in result.stdout
