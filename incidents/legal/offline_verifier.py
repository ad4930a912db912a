#!/usr/bin/env python3
"""Check a Breach Desk dossier export without Breach Desk.

    pip install cryptography
    python3 record/verify_record.py incident.json record/ [--fingerprint HEX]

Run it in the unpacked dossier ZIP. It checks, and exits 0 only when all of it holds:

1. every checkpoint in record/checkpoints.json carries a valid Ed25519 signature by a public key
   in record/ (public-key.pem, and retired keys as public-keys/*.pem). Compare the fingerprint
   it prints with the one printed on the signed dossier (or pass it as --fingerprint): a key
   that came in the same ZIP proves nothing by itself;
2. every event in record/events.json (the incident's events exactly as they were hashed)
   hashes to the hash it carries, and consecutive events link (``prev_hash``);
3. the export's checkpoint signed this incident's reference and the digest of exactly these
   events (seq and hash, none added, none left out) up to its seq;
4. any checkpoint at the seq of one of these events names that event's hash;
5. the timeline in incident.json says what record/events.json says: the same events, kinds,
   actors, states, data and hashes, at the same times (to the millisecond it prints).

Events of other incidents are interleaved in the record's global chain and are not in the
export, so the link from these events to the rest of the chain is what the key holder signed
(item 3), checked in the system itself by ``manage.py verify_record`` at the time of the export
(incident.json, "verification"). Standard library and ``cryptography`` only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNED_FORMAT = "breach-desk record checkpoint v1"


def utc_iso(text: str) -> str:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    # timezone.utc, not 3.11's UTC alias: a recipient's Python may be older.
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")  # noqa: UP017


def event_hash(event: dict, reference: str) -> str:
    body = {
        "seq": event["seq"],
        "incident": reference,
        "kind": event["kind"],
        "actor": event.get("actor") or "",
        "created_at": utc_iso(event["created_at"]),
        "from_state": event.get("from_state") or "",
        "to_state": event.get("to_state") or "",
        "data": event.get("data") or {},
        "prev_hash": event["prev_hash"],
    }
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


def signed_bytes(checkpoint: dict) -> bytes:
    body = {
        "format": SIGNED_FORMAT,
        "seq": checkpoint["seq"],
        "hash": checkpoint["hash"],
        "prev_seq": checkpoint["prev_seq"],
        "created_at": utc_iso(checkpoint["created_at"]),
        "why": checkpoint["why"],
        "incident": checkpoint["incident"],
        "events_digest": checkpoint["events_digest"],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def events_digest(pairs: list) -> str:
    raw = json.dumps([[seq, digest] for seq, digest in pairs], separators=(",", ":"))
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_keys(folder: Path) -> dict:
    keys = {}
    for path in [folder / "public-key.pem", *sorted((folder / "public-keys").glob("*.pem"))]:
        if path.exists():
            key = serialization.load_pem_public_key(path.read_bytes())
            if isinstance(key, Ed25519PublicKey):
                keys[fingerprint(key)] = key
    return keys


class Findings:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, text: str) -> None:
        self.problems.append(text)


def check_signatures(checkpoints: list, keys: dict, findings: Findings) -> None:
    for cp in checkpoints:
        key = keys.get(cp["key_fingerprint"])
        if key is None:
            findings.fail(f"checkpoint #{cp['seq']}: signed by an unknown key")
            continue
        try:
            key.verify(bytes.fromhex(cp["signature"]), signed_bytes(cp))
        except (InvalidSignature, ValueError):
            findings.fail(f"checkpoint #{cp['seq']}: the signature does not verify")


def check_events(events: list, reference: str, findings: Findings) -> dict:
    hashes = {}
    for event in sorted(events, key=lambda e: e["seq"]):
        if event_hash(event, reference) != event["hash"]:
            findings.fail(f"event #{event['seq']}: its content does not match its hash")
        before = hashes.get(event["seq"] - 1)
        if before is not None and event["prev_hash"] != before:
            findings.fail(f"event #{event['seq']}: does not link to event #{event['seq'] - 1}")
        hashes[event["seq"]] = event["hash"]
    return hashes


def check_export(checkpoints: list, reference: str, hashes: dict, findings: Findings) -> None:
    exports = [c for c in checkpoints if c["why"] == "export" and c["incident"] == reference]
    if not exports:
        findings.fail(f"no export checkpoint signs incident {reference}")
        return
    export = max(exports, key=lambda c: c["seq"])
    covered = sorted((seq, h) for seq, h in hashes.items() if seq <= export["seq"])
    if events_digest(covered) != export["events_digest"]:
        findings.fail(
            f"the timeline is not the one the export checkpoint #{export['seq']} signed "
            "(events changed, added or left out)"
        )
    for cp in checkpoints:
        if cp["seq"] in hashes and hashes[cp["seq"]] != cp["hash"]:
            findings.fail(f"checkpoint #{cp['seq']} names another hash than event #{cp['seq']}")


SAME = ("kind", "actor", "from_state", "to_state", "data", "prev_hash", "hash")


def check_timeline(timeline: list, events: list, upto: int, findings: Findings) -> None:
    recorded = {e["seq"]: e for e in events}
    shown = {e["seq"]: e for e in timeline if e["seq"] <= upto}
    for seq in sorted(set(recorded) - set(shown)):
        findings.fail(f"event #{seq} is in the record but not in incident.json's timeline")
    for seq, event in sorted(shown.items()):
        exact = recorded.get(seq)
        if exact is None:
            findings.fail(f"event #{seq} of incident.json's timeline is not in the record")
            continue
        differ = [name for name in SAME if (event.get(name) or "") != (exact.get(name) or "")]
        at = abs(_moment(event["created_at"]) - _moment(exact["created_at"]))
        if at >= dt.timedelta(milliseconds=1):
            differ.append("created_at")
        if differ:
            findings.fail(f"event #{seq} of incident.json differs from the record: {differ}")


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _export_seq(checkpoints: list, reference: str) -> int:
    seqs = [c["seq"] for c in checkpoints if c["why"] == "export" and c["incident"] == reference]
    return max(seqs, default=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("incident_json", type=Path)
    parser.add_argument("record_dir", type=Path, nargs="?", default=Path("record"))
    parser.add_argument("--fingerprint", help="the signing key's fingerprint printed on paper")
    args = parser.parse_args(argv)
    export = json.loads(args.incident_json.read_text(encoding="utf-8"))
    proof = json.loads((args.record_dir / "checkpoints.json").read_text(encoding="utf-8"))
    keys = load_keys(args.record_dir)
    findings = Findings()
    if args.fingerprint and args.fingerprint.lower() not in keys:
        findings.fail(f"no key in {args.record_dir} has the fingerprint {args.fingerprint}")
    reference = export["incident"]["reference"]
    checkpoints = proof["checkpoints"]
    check_signatures(checkpoints, keys, findings)
    events = json.loads((args.record_dir / "events.json").read_text(encoding="utf-8"))
    hashes = check_events(events["events"], reference, findings)
    check_export(checkpoints, reference, hashes, findings)
    upto = _export_seq(checkpoints, reference)
    check_timeline(export["timeline"], events["events"], upto, findings)
    for text in findings.problems:
        print(f"FAILED: {text}")
    if findings.problems:
        return 1
    for fp in sorted({c["key_fingerprint"] for c in checkpoints}):
        print(f"signing key: {fp}")
    print(f"OK: {reference}: {len(hashes)} events and {len(checkpoints)} signed checkpoints verify")
    return 0


if __name__ == "__main__":
    sys.exit(main())
