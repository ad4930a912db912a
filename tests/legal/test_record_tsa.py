"""RFC 3161 time-stamps of the record's checkpoints, against a time-stamping authority on
loopback (tests/legal/tsa.py): an export's checkpoint is stamped after its commit, the scheduled
ones made inside appends are stamped later (never under the lock), an authority that is away
fails nothing, and verify_record checks every kept token."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from incidents.legal.record_proof import proof_files
from incidents.legal.record_signing import sign_checkpoint
from incidents.legal.record_tsa import stamp_pending
from incidents.legal.signed_form import signed_bytes
from incidents.models import CheckpointReason, RecordCheckpoint
from incidents.notes import add_note
from tests.legal.tsa import LoopbackAuthority, running_authority

pytestmark = pytest.mark.django_db


@pytest.fixture
def authority(settings: Any, tmp_path: Path) -> Iterator[LoopbackAuthority]:
    with running_authority(tmp_path) as (url, authority):
        settings.RECORD_TSA_URL = url
        settings.RECORD_TSA_CA_FILE = str(authority.ca_file)
        settings.RECORD_CHECKPOINT_EVERY = 3
        yield authority


def export_checkpoint(incident: Any, capture: Any) -> RecordCheckpoint:
    with capture(execute=True):
        made = sign_checkpoint(CheckpointReason.EXPORT, incident=incident)
    return RecordCheckpoint.objects.get(pk=made.pk)


def verify(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_record", *args, stdout=out, stderr=err)
        return 0, out.getvalue(), err.getvalue()
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue(), err.getvalue()


def test_an_exports_checkpoint_is_time_stamped_after_its_commit(
    authority, incident_in, django_capture_on_commit_callbacks, tmp_path
):
    incident = incident_in("scoping")
    checkpoint = export_checkpoint(incident, django_capture_on_commit_callbacks)
    assert checkpoint.tsa_token and checkpoint.tsa_time is not None
    assert verify()[0] == 0
    # The kept answer is a standard one: OpenSSL checks it over the signed bytes too.
    (tmp_path / "signed").write_bytes(signed_bytes(checkpoint))
    (tmp_path / "token.tsr").write_bytes(bytes(checkpoint.tsa_token))
    openssl = subprocess.run(
        ["openssl", "ts", "-verify", "-data", str(tmp_path / "signed"), "-in",
         str(tmp_path / "token.tsr"), "-CAfile", str(authority.ca_file)],
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert "Verification: OK" in openssl.stdout, openssl.stdout + openssl.stderr
    body = json.loads(proof_files(incident, checkpoint)["record/checkpoints.json"])
    kept = next(c for c in body["checkpoints"] if c["why"] == "export")
    assert base64.b64decode(kept["tsa_token"]) == bytes(checkpoint.tsa_token)


def test_scheduled_checkpoints_are_stamped_later_never_inside_the_append(
    authority, incident_in, users
):
    incident = incident_in("scoping")
    for n in range(4):
        add_note(incident, actor=users["engineer"], text=f"n{n}")
    assert authority.answered == 0  # no network call under the log head's lock
    waiting = RecordCheckpoint.objects.unstamped().count()
    assert waiting >= 2
    code, out, _ = verify("--stamp")
    assert code == 0 and f"time-stamped: {waiting} of {waiting}" in out
    assert not RecordCheckpoint.objects.unstamped().exists()


def test_an_authority_that_is_away_fails_nothing_and_is_caught_up_later(
    authority, incident_in, django_capture_on_commit_callbacks
):
    authority.refuse = True
    incident = incident_in("scoping")
    checkpoint = export_checkpoint(incident, django_capture_on_commit_callbacks)
    assert checkpoint.tsa_token is None
    assert stamp_pending() == 0
    authority.refuse = False
    assert stamp_pending() == RecordCheckpoint.objects.count()
    assert RecordCheckpoint.objects.get(pk=checkpoint.pk).tsa_token


def test_a_token_moved_to_another_checkpoint_is_named(
    authority, incident_in, django_capture_on_commit_callbacks
):
    incident = incident_in("scoping")
    first = export_checkpoint(incident, django_capture_on_commit_callbacks)
    second = export_checkpoint(incident, django_capture_on_commit_callbacks)
    table = RecordCheckpoint._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET tsa_token = %s WHERE id = %s",
            [bytes(first.tsa_token), second.pk],
        )
    code, _, err = verify()
    assert code == 1
    assert f"the time-stamp of signed checkpoint #{second.seq} does not hold" in err
