"""Customers' personal data at rest (issue 18): sealed with ``PII_ENCRYPTION_KEY`` and found
again by a keyed hash, never stored or looked up in clear.

A record's fields are sealed together as one Fernet token (AES-128-CBC with HMAC-SHA256, from
the ``cryptography`` package): one encryption per person, not one per field, so importing a
hundred thousand people stays cheap. Look-ups (is this email in the register?) use an HMAC of the
normalised value under a key derived from the same secret (HKDF), so the database holds neither
the address nor a plain hash that a dictionary of all Iranian mobiles would reverse.

Keys: ``settings.PII_ENCRYPTION_KEYS``, the current key first (``PII_ENCRYPTION_KEY``), then any
``PII_ENCRYPTION_KEY_FALLBACKS`` still able to open older records; sealing and hashing use the
first. This module knows no domain: callers say which fields a record has.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class Unreadable(Exception):
    """A sealed value that no configured key opens (a wrong key, or a damaged row)."""


def check_key(key: str, name: str = "PII_ENCRYPTION_KEY") -> str:
    """``key`` if it is a Fernet key (32 bytes, url-safe base64), else ImproperlyConfigured
    naming the setting and how to make one. For settings.py."""
    try:
        Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ImproperlyConfigured(
            f"{name} must be 32 random bytes in url-safe base64; make one with: python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from None
    return key


@functools.cache
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode("ascii")) for k in keys])


@functools.cache
def _lookup_key(key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"breach-desk pii lookup")
    return hkdf.derive(key.encode("ascii"))


def _keys() -> tuple[str, ...]:
    keys = tuple(settings.PII_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("PII_ENCRYPTION_KEY is not set")
    return keys


def seal(fields: dict[str, Any]) -> str:
    """The fields (JSON-serialisable) as one opaque token for a TextField."""
    plain = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _cipher(_keys()).encrypt(plain).decode("ascii")


def unseal(token: str) -> dict[str, Any]:
    """What ``seal`` sealed; Unreadable when no configured key opens it."""
    try:
        plain = _cipher(_keys()).decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        raise Unreadable("no PII_ENCRYPTION_KEY opens this record") from None
    return json.loads(plain)


def lookup_hash(kind: str, value: str) -> str:
    """A keyed digest of an already normalised ``value`` for equality look-ups; ``kind``
    ("email", "mobile", ...) keeps equal strings of different kinds apart."""
    message = f"{kind}\x00{value}".encode()
    return hmac.new(_lookup_key(_keys()[0]), message, hashlib.sha256).hexdigest()


def reseal(token: str) -> str:
    """The same fields sealed under the current key (for a key rotation)."""
    try:
        return _cipher(_keys()).rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeEncodeError):
        raise Unreadable("no PII_ENCRYPTION_KEY opens this record") from None
