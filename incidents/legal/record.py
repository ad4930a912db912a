"""Verifying the tamper-evident record: walk the hash chain of the event log and check it
against the signed checkpoints.

A chain shows an edited event (its hash no longer matches) and a deleted event in the middle
(a gap in ``seq`` and a ``prev_hash`` that points at nothing). The signed checkpoints
(incidents/legal/record_signing.py) show a chain rewritten with fresh hashes: it no longer passes
through the (seq, hash) a checkpoint signed. A deleted tail with its checkpoints deleted too is
seen only from outside: by a checkpoint legal keeps (``expect``), or by one a dossier carried.

A run walks from the newest signed checkpoint the last good run covered (a daily run reads a
day of events), after checking every checkpoint's signature and that each lies on the stored
chain; ``full=True`` walks everything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from core.roles import ADMIN, LEGAL, has_any_role
from incidents.errors import RoleForbidden
from incidents.events import GENESIS_HASH, event_hash
from incidents.legal.record_checks import CheckpointReport, check_checkpoints
from incidents.models import EVENT_BODY, Event, Incident, LogHead, VerificationRun

BATCH = 2000


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str

    @classmethod
    def parse(cls, raw: str) -> Checkpoint:
        """``SEQ:HASH`` as printed by ``verify_record --checkpoint``."""
        seq, sep, digest = raw.strip().partition(":")
        digest = digest.lower()
        hex_ok = len(digest) == 64 and set(digest) <= set("0123456789abcdef")
        if not sep or not seq.isdigit() or not hex_ok:
            raise ValueError("a checkpoint looks like SEQ:HASH (a number, a colon, 64 hex digits)")
        return cls(int(seq), digest)

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    last_seq: int
    last_hash: str
    broken_seq: int | None = None
    detail: str = ""


FIELDS = ("seq", "incident_id", "kind", "actor_username", *EVENT_BODY)


@dataclass(frozen=True)
class _Row:
    seq: int
    incident_id: int
    kind: str
    actor_username: str
    created_at: dt.datetime
    from_state: str
    to_state: str
    data: Any
    prev_hash: str
    hash: str


def _pages(after: int = 0) -> Iterator[list[_Row]]:
    """Every event after ``after`` in seq order, in keyset pages so memory stays flat on a long
    log. Plain rows, not model instances: building models was most of the walk's time."""
    while True:
        rows = Event.objects.filter(seq__gt=after).order_by("seq").values_list(*FIELDS)
        page = [_Row(*row) for row in rows[:BATCH]]
        if not page:
            return
        yield page
        after = page[-1].seq


def _learn_references(page: list[_Row], references: dict[int, str]) -> None:
    """Add the references of the page's incidents not known yet: those of the incidents the
    walk meets, not of every incident (a short walk on a long log reads a page's worth)."""
    missing = {row.incident_id for row in page} - references.keys()
    if missing:
        found = Incident.objects.filter(id__in=missing).values_list("id", "reference")
        references.update(found)


def _hash(row: _Row, references: dict[int, str]) -> str:
    return event_hash(row, reference=references[row.incident_id])


def walk_chain(
    start: Checkpoint | None = None, signed: dict[int, str] | None = None
) -> Verification:
    """Check every event's hash and link; stop at the first one that fails. From ``start`` (a
    signed checkpoint) the walk begins at its event, whose hash must be the signed one; an event
    at the seq of a signed checkpoint (``signed``: seq -> hash) must carry that hash."""
    signed = signed or {}
    prev_hash: str | None = GENESIS_HASH
    expected_seq, checked = 1, 0
    if start is not None and start.seq:
        # The start event's own link was checked by the run that covered it; its hash, checked
        # against the signature, binds its content and that link.
        prev_hash, expected_seq = None, start.seq
        signed = {**signed, start.seq: start.hash}
    references: dict[int, str] = {}
    for page in _pages(after=expected_seq - 1):
        _learn_references(page, references)
        for event in page:
            problem = _problem(event, expected_seq, prev_hash, references, signed)
            if problem:
                return _broken(event, checked, expected_seq, prev_hash or "", problem)
            prev_hash, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    if prev_hash is None:  # the start checkpoint's event is gone
        detail = f"event #{expected_seq} of signed checkpoint #{expected_seq} is missing"
        return Verification(False, 0, expected_seq - 1, "", expected_seq, detail)
    head = LogHead.objects.filter(id=1).first()
    if head is not None and (head.seq, head.hash) != (expected_seq - 1, prev_hash):
        return Verification(
            False,
            checked,
            expected_seq - 1,
            prev_hash,
            expected_seq,
            f"the log head names #{head.seq} but the chain ends at "
            f"#{expected_seq - 1}: events at the end are missing",
        )
    return Verification(True, checked, expected_seq - 1, prev_hash)


def _problem(
    event: _Row,
    expected_seq: int,
    prev_hash: str | None,
    references: dict[int, str],
    signed: dict[int, str],
) -> str | None:
    if event.seq != expected_seq:
        return f"event #{expected_seq} is missing (next found is #{event.seq})"
    if prev_hash is not None and event.prev_hash != prev_hash:
        return f"event #{event.seq} does not link to the event before it"
    if _hash(event, references) != event.hash:
        return f"event #{event.seq} was changed after it was written"
    if event.seq in signed and signed[event.seq] != event.hash:
        return (
            f"the chain does not pass through signed checkpoint #{event.seq}: the log was "
            f"rewritten at or before event #{event.seq}"
        )
    return None


def _broken(
    event: _Row, checked: int, expected_seq: int, prev_hash: str, detail: str
) -> Verification:
    last_good = event.seq - 1 if checked else expected_seq - 1
    return Verification(False, checked, last_good, prev_hash, event.seq, detail)


def check_expected(result: Verification, expect: Checkpoint) -> Verification:
    """Also require the kept checkpoint to be in the (otherwise intact) chain."""
    if not result.ok:
        return result
    if expect.seq > result.last_seq:
        detail = (
            f"the kept checkpoint names #{expect.seq} but the log ends at "
            f"#{result.last_seq}: events at the end were deleted"
        )
        return replace(result, ok=False, broken_seq=expect.seq, detail=detail)
    stored = Event.objects.filter(seq=expect.seq).values_list("hash", flat=True).first()
    if stored != expect.hash:
        detail = f"event #{expect.seq} has a different hash than the kept checkpoint"
        return replace(result, ok=False, broken_seq=expect.seq, detail=detail)
    return result


def may_verify(user: Any) -> bool:
    """Legal and admins see and start the record's verification (the dashboard's panel)."""
    return has_any_role(user, {LEGAL, ADMIN})


def ensure_may_verify(user: Any) -> None:
    """RoleForbidden unless the user may see and start the record's verification."""
    if not may_verify(user):
        raise RoleForbidden(_("Only legal and admins see the record's verification."))


def _start(report: CheckpointReport, full: bool) -> Checkpoint | None:
    """The newest signed checkpoint on the chain that the last good run covered."""
    if full:
        return None
    last_good = VerificationRun.objects.filter(ok=True).order_by("-finished_at", "-id").first()
    if last_good is None:
        return None
    seqs = [seq for seq in report.signed if 0 < seq <= last_good.last_seq]
    return Checkpoint(max(seqs), report.signed[max(seqs)]) if seqs else None


def _earliest(result: Verification, report: CheckpointReport) -> Verification:
    """The chain's verdict, or the checkpoints' first problem when it lies earlier."""
    if report.problem is None:
        return result
    seq, detail = report.problem
    if not result.ok and result.broken_seq is not None and result.broken_seq <= seq:
        return result
    return replace(result, ok=False, broken_seq=seq, detail=detail)


def verify_record(
    *, expect: Checkpoint | None = None, source: str = "command", full: bool = False
) -> VerificationRun:
    """Check the signed checkpoints, walk the chain (from the last verified checkpoint unless
    ``full``), check the kept checkpoint if given, and store the result for the dashboard."""
    report = check_checkpoints()
    start = _start(report, full)
    report = report.with_stored_hashes_below(start.seq if start else 1)
    result = _earliest(walk_chain(start, report.signed), report)
    if expect is not None:
        result = check_expected(result, expect)
    return VerificationRun.objects.create(
        finished_at=timezone.now(),
        ok=result.ok,
        checked=result.checked,
        last_seq=result.last_seq,
        last_hash=result.last_hash,
        broken_seq=result.broken_seq,
        detail=result.detail,
        expected=str(expect or ""),
        source=source,
        from_seq=start.seq if start else 0,
        checkpoints=report.count,
    )


def checkpoint() -> Checkpoint:
    head = LogHead.objects.filter(id=1).first()
    return Checkpoint(head.seq, head.hash) if head else Checkpoint(0, GENESIS_HASH)
