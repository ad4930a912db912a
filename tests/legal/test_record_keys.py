"""The record's signing key: made on first use in local development, required in production,
and rotated with the retired public keys still verifying old checkpoints."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from core import record_key
from incidents.legal.record_signing import public_key_fingerprint, sign_checkpoint
from incidents.models import CheckpointReason

ROOT = Path(__file__).resolve().parents[2]


def openssl_key(path: Path) -> Path:
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def public_of(private: Path, path: Path) -> Path:
    subprocess.run(
        ["openssl", "pkey", "-in", str(private), "-pubout", "-out", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "RECORD_"))}
    base.pop("DATABASE_URL", None)
    base.update(
        DJANGO_SETTINGS_MODULE="core.settings",
        DJANGO_SECRET_KEY="tests-only-" + "x" * 50,
        DJANGO_ALLOWED_HOSTS="localhost",
        PII_ENCRYPTION_KEY="dGVzdHMtb25seS1ub3QtYS1zZWNyZXQtMzItYnl0ZXM=",
        BREACH_DESK_VAR_DIR=str(tmp_path),
        DATABASE_URL="",
        REDIS_URL="",
        PYTHONPATH=str(ROOT),
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_local_development_makes_its_key_on_first_use(tmp_path):
    migrated = manage(tmp_path, "migrate", "-v0", DJANGO_DEBUG="1")
    assert migrated.returncode == 0, migrated.stderr
    key = tmp_path / "keys" / "record-signing-dev.pem"
    assert not key.exists()
    signed = manage(tmp_path, "verify_record", "--sign", DJANGO_DEBUG="1")
    assert signed.returncode == 0, signed.stderr
    assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600
    fingerprint = record_key.fingerprint(record_key.load_private_key(key).public_key())
    assert f"key {fingerprint}" in signed.stdout
    # The next process signs with the same key, and the signed checkpoint verifies.
    again = manage(tmp_path, "verify_record", "--sign", DJANGO_DEBUG="1")
    assert again.returncode == 0, again.stderr
    assert f"key {fingerprint}" in again.stdout
    assert "signed checkpoints verified: 1" in again.stdout


def test_ensure_key_file_keeps_an_existing_key(tmp_path):
    path = record_key.ensure_key_file(tmp_path / "k" / "dev.pem")
    first = path.read_bytes()
    assert record_key.ensure_key_file(path).read_bytes() == first
    assert not [p for p in path.parent.iterdir() if p.name != "dev.pem"]  # no temporary left


def test_production_refuses_to_start_without_a_usable_key(tmp_path):
    missing = manage(tmp_path, "check", DJANGO_DEBUG="0")
    assert missing.returncode != 0 and "RECORD_SIGNING_KEY" in missing.stderr
    rsa = tmp_path / "rsa.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "rsa", "-out", str(rsa)],
        check=True,
        capture_output=True,
    )
    wrong = manage(tmp_path, "check", DJANGO_DEBUG="0", RECORD_SIGNING_KEY=str(rsa))
    assert wrong.returncode != 0 and "is not an Ed25519 key" in wrong.stderr


def test_openssl_keys_load_and_junk_is_a_clear_error(tmp_path):
    key = record_key.load_private_key(openssl_key(tmp_path / "k.pem"))
    assert len(record_key.fingerprint(key.public_key())) == 64
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(ImproperlyConfigured, match="not an unencrypted PEM private key"):
        record_key.load_private_key(tmp_path / "junk.pem")
    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        record_key.load_private_key(tmp_path / "absent.pem")


@pytest.mark.django_db
def test_a_rotated_key_still_verifies_old_checkpoints_with_its_public_key(
    settings: Any, tmp_path: Path
) -> None:
    old = openssl_key(tmp_path / "old.pem")
    settings.RECORD_SIGNING_KEY = str(old)
    sign_checkpoint(CheckpointReason.MANUAL)
    old_fingerprint = public_key_fingerprint()
    settings.RECORD_SIGNING_KEY = str(openssl_key(tmp_path / "new.pem"))
    assert public_key_fingerprint() != old_fingerprint
    sign_checkpoint(CheckpointReason.MANUAL)

    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit):
        call_command("verify_record", stdout=out, stderr=err)
    assert f"names a key this installation does not know ({old_fingerprint})" in err.getvalue()

    settings.RECORD_SIGNING_PUBLIC_KEYS = [str(public_of(old, tmp_path / "old.pub.pem"))]
    call_command("verify_record", stdout=out, stderr=err)
    assert "signed checkpoints verified: 2" in out.getvalue()
