"""What a record checkpoint's key signs, and its time-stamp token covers: the checkpoint's
fields as canonical JSON. Its own module so that the signer (record_signing.py), the time-stamp
client (record_tsa.py) and the export's proof (record_proof.py) share it without importing each
other."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from incidents.models import RecordCheckpoint

# Names what the signed bytes are, so a signature over them can never be taken for another
# statement made with the same key. The offline verifier (record_proof.py) writes the same.
SIGNED_FORMAT = "breach-desk record checkpoint v1"


def signed_fields(checkpoint: RecordCheckpoint) -> dict[str, Any]:
    """What a checkpoint says, as its key signs it and as checkpoints.json carries it."""
    return {
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "prev_seq": checkpoint.prev_seq,
        "created_at": utc_iso(checkpoint.created_at),
        "why": checkpoint.why,
        "incident": checkpoint.incident_reference,
        "events_digest": checkpoint.events_digest,
    }


def signed_bytes(checkpoint: RecordCheckpoint) -> bytes:
    """What a checkpoint's key signs (and its time-stamp token covers): canonical JSON. The
    offline verifier (offline_verifier.py) rebuilds the same bytes from checkpoints.json."""
    body = {"format": SIGNED_FORMAT, **signed_fields(checkpoint)}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def utc_iso(moment: dt.datetime) -> str:
    """A moment as the record hashes and signs it: UTC, ISO 8601, microseconds."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")
