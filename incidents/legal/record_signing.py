"""Signed checkpoints of the record (issue 19, section 3; docs/legal.md, "Signing keys").

The hash chain shows an edited event, but not a chain rewritten from some event on with fresh,
self-consistent hashes by someone with database access. So the log head (seq and hash) is signed
with an Ed25519 key kept outside the database (``RECORD_SIGNING_KEY``):

- in the append that starts the log or reaches a multiple of ``RECORD_CHECKPOINT_EVERY``
  (``checkpoint_if_due``, called by ``incidents.events.append_event`` under the log head's lock,
  so the checkpoint commits with its event and names exactly the head; one signature, some 50
  microseconds, and one INSERT every N events);
- at every dossier export (``sign_checkpoint("export")``).

Scheduled checkpoints carry the seq of the one before them inside what is signed, so a deleted
checkpoint is named by the next one. ``incidents.legal.record.verify_record`` checks them all.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import record_key
from incidents.legal.signed_form import signed_bytes
from incidents.models import CheckpointReason, Incident, LogHead, RecordCheckpoint

logger = logging.getLogger(__name__)


def events_digest(pairs: list[tuple[int, str]]) -> str:
    """SHA-256 of an incident's events as ``[[seq, hash], ...]`` in seq order (compact JSON):
    what an export's checkpoint signs about the incident it exported."""
    raw = json.dumps([[seq, digest] for seq, digest in pairs], separators=(",", ":"))
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


@functools.lru_cache(maxsize=4)
def _load_key(path: str, generate: bool) -> Ed25519PrivateKey:
    if generate:
        record_key.ensure_key_file(path)
    return record_key.load_private_key(path)


def signing_key() -> Ed25519PrivateKey:
    """The configured private key, read once per process (local development makes one under
    VAR_DIR/keys/ on first use; production's was checked when settings loaded)."""
    return _load_key(settings.RECORD_SIGNING_KEY, settings.RECORD_SIGNING_KEY_GENERATE)


def public_key_pem() -> bytes:
    """The current signing key's public half (PEM), for the dossier and its ZIP."""
    return record_key.public_pem(signing_key().public_key())


def public_key_fingerprint() -> str:
    """SHA-256 of the current raw public key in hex: printed on the dossier."""
    return record_key.fingerprint(signing_key().public_key())


@functools.lru_cache(maxsize=4)
def _retired_keys(paths: tuple[str, ...]) -> dict[str, Ed25519PublicKey]:
    keys = (record_key.load_public_key(path) for path in paths)
    return {record_key.fingerprint(key): key for key in keys}


def known_public_keys() -> dict[str, Ed25519PublicKey]:
    """Every key a checkpoint may be signed with, by fingerprint: the current one and the
    retired ones of ``RECORD_SIGNING_PUBLIC_KEYS``."""
    current = signing_key().public_key()
    retired = _retired_keys(tuple(settings.RECORD_SIGNING_PUBLIC_KEYS))
    return {**retired, record_key.fingerprint(current): current}


def signature_problem(
    checkpoint: RecordCheckpoint, keys: dict[str, Ed25519PublicKey]
) -> str | None:
    """Why the checkpoint's signature does not hold, or None when it does (a check each call:
    incidents/legal/record_checks.py remembers the rows it verified)."""
    key = keys.get(checkpoint.key_fingerprint)
    if key is None:
        return (
            f"signed checkpoint #{checkpoint.seq} names a key this installation does not know "
            f"({checkpoint.key_fingerprint or 'none'}); a retired key belongs in "
            "RECORD_SIGNING_PUBLIC_KEYS"
        )
    try:
        key.verify(bytes.fromhex(checkpoint.signature), signed_bytes(checkpoint))
    except (InvalidSignature, ValueError):
        return f"signed checkpoint #{checkpoint.seq} has a signature that does not verify"
    return None


def _make(
    head: LogHead, why: str, at: dt.datetime, incident: Incident | None = None
) -> RecordCheckpoint:
    key = signing_key()
    checkpoint = RecordCheckpoint(
        seq=head.seq,
        hash=head.hash,
        prev_seq=head.checkpoint_seq,
        created_at=at.astimezone(dt.UTC),
        why=why,
        key_fingerprint=record_key.fingerprint(key.public_key()),
    )
    if incident is not None:
        events = incident.events.filter(seq__lte=head.seq).order_by("seq")
        checkpoint.incident_reference = incident.reference
        checkpoint.events_digest = events_digest(list(events.values_list("seq", "hash")))
    checkpoint.signature = key.sign(signed_bytes(checkpoint)).hex()
    checkpoint.save(force_insert=True)
    return checkpoint


def checkpoint_if_due(head: LogHead, at: dt.datetime) -> RecordCheckpoint | None:
    """Sign the head when the log starts (no scheduled checkpoint yet) or reaches a multiple
    of RECORD_CHECKPOINT_EVERY, and move the head's ``checkpoint_seq`` on (the caller saves the
    head). Precondition: inside ``append_event``, the head locked and already moved to the new
    event."""
    if head.checkpoint_seq and head.seq % settings.RECORD_CHECKPOINT_EVERY:
        return None
    checkpoint = _make(head, CheckpointReason.EVERY, at)
    head.checkpoint_seq = head.seq
    transaction.on_commit(_log_made(checkpoint), robust=True)
    return checkpoint


def _log_made(checkpoint: RecordCheckpoint) -> functools.partial[None]:
    return functools.partial(
        logger.info, "record checkpoint #%s signed (%s)", checkpoint.seq, checkpoint.why
    )


def sign_checkpoint(
    why: str = CheckpointReason.EXPORT, *, incident: Incident | None = None
) -> RecordCheckpoint:
    """Sign the log head now (a dossier export, or on demand) and, when ``RECORD_TSA_URL`` is
    set, have it time-stamped after the commit (a failed stamp is logged and left for
    ``stamp_pending``). With ``incident`` (an export), the checkpoint also signs the incident's
    reference and the digest of its events up to the head: gather the export's timeline after
    this call and keep the events with ``seq <= checkpoint.seq``. Takes the log head's lock for
    a moment: call it outside ``changing()`` or inside it (the lock order incident -> head
    holds either way)."""
    if why not in CheckpointReason.values:
        raise ValueError(f"why must be one of {CheckpointReason.values}, got {why!r}")
    with transaction.atomic():
        head = LogHead.objects.select_for_update().filter(id=1).first()
        if head is None:
            head, _ = LogHead.objects.select_for_update().get_or_create(id=1)
        checkpoint = _make(head, why, timezone.now(), incident)
    if settings.RECORD_TSA_URL:
        from incidents.legal import record_tsa  # the network client, only when configured

        # Never inside a transaction: the authority may take seconds to answer. Outside one,
        # on_commit runs at once, so the checkpoint handed back already carries its token.
        transaction.on_commit(functools.partial(record_tsa.stamp, checkpoint), robust=True)
    return checkpoint
