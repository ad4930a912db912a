"""The key that signs the record's checkpoints (docs/legal.md, "Signing keys"): an Ed25519
private key in a PEM file kept outside the database, as ``openssl genpkey -algorithm ed25519``
writes it, and the public keys of retired signing keys that must still verify old checkpoints.

This module knows no domain: settings.py checks the files with it at start-up, and
``incidents/legal/record_signing.py`` signs and verifies with what it loads."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.exceptions import ImproperlyConfigured

HOW_TO_MAKE = "make one with: openssl genpkey -algorithm ed25519 -out record-signing.pem"


def load_private_key(path: str | Path, name: str = "RECORD_SIGNING_KEY") -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file at ``path``; ImproperlyConfigured naming the
    setting when the file is missing, unreadable, encrypted or holds another kind of key."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"{name}: cannot read {path} ({exc.strerror}); {HOW_TO_MAKE}"
        ) from None
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ImproperlyConfigured(
            f"{name}: {path} is not an unencrypted PEM private key; {HOW_TO_MAKE}"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{name}: {path} is not an Ed25519 key; {HOW_TO_MAKE}")
    return key


def load_public_key(path: str | Path, name: str = "RECORD_SIGNING_PUBLIC_KEYS") -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (``openssl pkey -pubout`` of a retired key)."""
    try:
        raw = Path(path).read_bytes()
        key = serialization.load_pem_public_key(raw)
    except OSError as exc:
        raise ImproperlyConfigured(f"{name}: cannot read {path} ({exc.strerror})") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ImproperlyConfigured(f"{name}: {path} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ImproperlyConfigured(f"{name}: {path} is not an Ed25519 public key")
    return key


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, in hex: what a checkpoint names its key by and
    what the dossier prints (the offline verifier computes the same)."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def ensure_key_file(path: str | Path) -> Path:
    """Create an Ed25519 key at ``path`` unless one is there (local development's key, made on
    first use). The file is written whole under another name and linked into place, so two
    processes starting at once end up with the same key, never a half-written one."""
    path = Path(path)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".record-key-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return path
