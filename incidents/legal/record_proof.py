"""The record's proof in the dossier ZIP (issue 19, section 3): the signed checkpoints that
concern the exported incident, the public key(s) they verify with, and a small offline verifier
(``offline_verifier.py``, standard library and ``cryptography`` only) that a recipient runs
against the ZIP's incident.json without the app.

The dossier calls, in this order::

    checkpoint = sign_checkpoint("export", incident=incident)   # record_signing
    ...gather the export after it (its timeline may hold later events: they are shown but
       not covered by this checkpoint)...
    for name, blob in proof_files(incident, checkpoint).items():
        archive.writestr(name, blob)                              # and into SHA256SUMS
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from core import record_key
from incidents.legal.record_signing import (
    known_public_keys,
    public_key_fingerprint,
    public_key_pem,
)
from incidents.legal.signed_form import SIGNED_FORMAT, signed_fields, utc_iso
from incidents.models import CheckpointReason, Incident, RecordCheckpoint

FOLDER = "record"
VERIFIER = Path(__file__).with_name("offline_verifier.py")


def checkpoint_json(checkpoint: RecordCheckpoint) -> dict[str, Any]:
    """One checkpoint as the ZIP (and the offline verifier) reads it."""
    token = checkpoint.tsa_token
    return {
        **signed_fields(checkpoint),
        "key_fingerprint": checkpoint.key_fingerprint,
        "signature": checkpoint.signature,
        "tsa_token": base64.b64encode(bytes(token)).decode("ascii") if token else None,
        "tsa_time": utc_iso(checkpoint.tsa_time) if checkpoint.tsa_time else None,
    }


def concerning(incident: Incident, upto: RecordCheckpoint) -> list[RecordCheckpoint]:
    """The export's checkpoint, the incident's earlier exports and the scheduled checkpoints
    from the incident's first event to the export."""
    first = incident.events.order_by("seq").values_list("seq", flat=True).first() or upto.seq
    scheduled = RecordCheckpoint.objects.scheduled().filter(seq__gte=first, seq__lte=upto.seq)
    exports = RecordCheckpoint.objects.filter(
        why=CheckpointReason.EXPORT, incident_reference=incident.reference, id__lte=upto.id
    )
    rows = {c.pk: c for c in [*scheduled, *exports, upto]}
    return sorted(rows.values(), key=lambda c: (c.seq, c.pk))


def recorded_events(incident: Incident, upto: RecordCheckpoint) -> list[dict[str, Any]]:
    """The incident's events up to the checkpoint exactly as they were hashed (incident.json's
    timeline prints times to the millisecond; the hash covers microseconds)."""
    rows = incident.events.filter(seq__lte=upto.seq).order_by("seq")
    return [
        {
            "seq": e.seq,
            "kind": e.kind,
            "actor": e.actor_username,
            "created_at": utc_iso(e.created_at),
            "from_state": e.from_state,
            "to_state": e.to_state,
            "data": e.data,
            "prev_hash": e.prev_hash,
            "hash": e.hash,
        }
        for e in rows
    ]


def proof_files(incident: Incident, checkpoint: RecordCheckpoint) -> dict[str, bytes]:
    """The files to add to the dossier ZIP (and to SHA256SUMS), by name: ``record/
    checkpoints.json``, ``record/events.json``, ``record/public-key.pem``, retired keys that
    signed any of them as ``record/public-keys/<fingerprint>.pem``, and
    ``record/verify_record.py``."""
    checkpoints = concerning(incident, checkpoint)
    events = {"incident": incident.reference, "events": recorded_events(incident, checkpoint)}
    body = {
        "format": SIGNED_FORMAT,
        "incident": incident.reference,
        "public_key_fingerprint": public_key_fingerprint(),
        "checkpoints": [checkpoint_json(c) for c in checkpoints],
    }
    files = {
        f"{FOLDER}/checkpoints.json": json.dumps(body, indent=2, ensure_ascii=False).encode(),
        f"{FOLDER}/events.json": json.dumps(events, indent=2, ensure_ascii=False).encode(),
        f"{FOLDER}/public-key.pem": public_key_pem(),
        f"{FOLDER}/verify_record.py": VERIFIER.read_bytes(),
    }
    keys = known_public_keys()
    for fingerprint in {c.key_fingerprint for c in checkpoints} - {public_key_fingerprint()}:
        if fingerprint in keys:
            pem = record_key.public_pem(keys[fingerprint])
            files[f"{FOLDER}/public-keys/{fingerprint}.pem"] = pem
    return files
