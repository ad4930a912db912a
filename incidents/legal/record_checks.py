"""What the signed checkpoints say about the record, before the chain is walked: every
signature holds (and every kept time-stamp, when ``RECORD_TSA_CA_FILE`` is set), no scheduled
checkpoint is missing, none names an event past the log's end, and (for the part of the log a
run does not walk) each lies on the stored chain.

The walk (incidents/legal/record.py) then requires the chain to pass through every signed
(seq, hash) it meets.

Every verification (the daily one, each dossier's) checks every checkpoint: one per
``RECORD_CHECKPOINT_EVERY`` events, a thousand at a million. So each costs little: one read of
their columns as plain rows (``created_at`` as the database's text: parsing a datetime per row
was most of that read), a signature checked only for a row this process has not verified as it
reads now, and one query in which the database compares each with the event at its seq and
returns the first that differs (bench/README.md, "Scale")."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.db.models import CharField, Exists, OuterRef, Q
from django.db.models.functions import Cast

from incidents.legal.record_signing import known_public_keys, signature_problem
from incidents.models import CheckpointReason, Event, LogHead, RecordCheckpoint

GENESIS_HASH = "0" * 64  # incidents.events.GENESIS_HASH (that module imports the signing one)

# A checkpoint as read: what its signature covers (created_at as text, last but one), its key
# and signature, and its id. Two equal rows make the same signed message with the same key and
# signature, so they verify alike: the memo below holds rows.
COLUMNS = (
    "seq",
    "prev_seq",
    "hash",
    "why",
    "incident_reference",
    "events_digest",
    "key_fingerprint",
    "signature",
)
SEQ, PREV_SEQ, HASH, WHY, FINGERPRINT, ID = 0, 1, 2, 3, 6, -1
EVERY = CheckpointReason.EVERY.value
Row = tuple[Any, ...]

# The rows this process has verified: a dossier's verification and the next daily run check
# only the signatures they have not met. A changed field or signature is another row, checked
# afresh. Some 650 bytes a row; the bound is some 20 million events' worth of checkpoints.
VERIFIED_KEPT = 20_000
_verified: set[Row] = set()


def _created_text() -> Cast:
    return Cast("created_at", output_field=CharField())


def _row(checkpoint: RecordCheckpoint) -> Row:
    """The row of a checkpoint read as a model with ``created_text`` annotated: the same tuple
    as the plain read gives."""
    own = tuple(getattr(checkpoint, name) for name in COLUMNS)
    return (*own, checkpoint.created_text, checkpoint.pk)


def _remember(row: Row) -> None:
    if len(_verified) >= VERIFIED_KEPT:
        _verified.clear()
    _verified.add(row)


@dataclass(frozen=True)
class CheckpointReport:
    """``signed``: seq -> hash of every checkpoint whose signature holds; ``problem``: the
    earliest (seq, why) found; ``count``: checkpoints checked."""

    signed: dict[int, str] = field(default_factory=dict)
    problem: tuple[int, str] | None = None
    count: int = 0

    def noting(self, seq: int, detail: str) -> CheckpointReport:
        if self.problem is not None and self.problem[0] <= seq:
            return self
        return replace(self, problem=(seq, detail))

    def with_stored_hashes_below(self, seq: int) -> CheckpointReport:
        """Also require each signed checkpoint below ``seq`` (the part a run does not walk) to
        name the hash its event carries now: a rewrite there changed every hash after it."""
        report = self
        if 0 in self.signed and self.signed[0] != GENESIS_HASH:
            report = report.noting(0, "signed checkpoint #0 names another start of the log")
        off = _first_off_chain(seq)
        return report.noting(*off) if off else report


def _first_off_chain(below: int) -> tuple[int, str] | None:
    """The first checkpoint between 0 and ``below`` whose event is gone or carries another
    hash: the database compares them all and returns one row. Every checkpoint, not only the
    signed ones: one whose signature fails was named at its seq already, and ``noting`` keeps
    the earlier problem of two at the same seq, so the verdict is the same."""
    if below <= 1:
        return None
    same = Event.objects.filter(seq=OuterRef("seq"), hash=OuterRef("hash"))
    off = RecordCheckpoint.objects.filter(seq__gt=0, seq__lt=below).filter(~Exists(same))
    seq = off.order_by("seq").values_list("seq", flat=True).first()
    if seq is None:
        return None
    return seq, _off_chain(seq, Event.objects.filter(seq=seq).exists())


def _off_chain(seq: int, present: bool) -> str:
    if not present:
        return f"event #{seq} of signed checkpoint #{seq} is missing"
    return (
        f"the chain does not pass through signed checkpoint #{seq}: the log was rewritten "
        f"at or before event #{seq}"
    )


def check_checkpoints() -> CheckpointReport:
    """Check every checkpoint's signature and the scheduled ones' sequence (one read of the
    checkpoints; one signature check for each this process has not verified yet)."""
    keys = known_public_keys()
    head_seq = LogHead.objects.latest_seq()
    rows = list(
        RecordCheckpoint.objects.order_by("seq", "id").values_list(*COLUMNS, _created_text(), "id")
    )
    missed = {row[ID] for row in rows if row not in _verified or row[FINGERPRINT] not in keys}
    verdicts = _verdicts(missed, keys)
    # A missed row is judged as read again (not at all when deleted in between).
    judged = [
        verdicts.get(row[ID]) or (row, None)
        for row in rows
        if row[ID] in verdicts or row[ID] not in missed
    ]
    scheduled = [
        (row[SEQ], row[PREV_SEQ]) for row, problem in judged if not problem and row[WHY] == EVERY
    ]
    return _check_schedule(_signed(judged, head_seq), scheduled, head_seq)


def _signed(judged: list[tuple[Row, str | None]], head_seq: int) -> CheckpointReport:
    """The signed (seq, hash) of the rows whose signature holds, in (seq, id) order, and the
    first problem: a failed signature, two signed hashes at one seq, a seq past the head."""
    report = CheckpointReport(count=len(judged))
    for row, problem in judged:
        seq = row[SEQ]
        if problem:
            report = report.noting(seq, problem)
            continue
        if report.signed.setdefault(seq, row[HASH]) != row[HASH]:
            detail = f"two signed checkpoints at #{seq} name different hashes"
            report = report.noting(seq, detail)
        if seq > head_seq:
            detail = (
                f"signed checkpoint #{seq} names an event past the log's end "
                f"(#{head_seq}): events at the end were deleted"
            )
            report = report.noting(head_seq + 1, detail)
    return report


def _verdicts(missed: set[int], keys: dict[str, Any]) -> dict[int, tuple[Row, str | None]]:
    """The checkpoints not verified before (and, with ``RECORD_TSA_CA_FILE``, every one with
    a time-stamp), read again whole: id -> (the row as read now, why it fails or None). What
    is verified is what is read here, so a row changed between the two reads is judged as
    it is now."""
    stamps = bool(settings.RECORD_TSA_CA_FILE)
    if not missed and not stamps:
        return {}
    wanted = Q(id__in=missed) | Q(tsa_token__isnull=False) if stamps else Q(id__in=missed)
    found = RecordCheckpoint.objects.filter(wanted).annotate(created_text=_created_text())
    verdicts = {}
    for checkpoint in found:
        row = _row(checkpoint)
        problem = None if row in _verified else signature_problem(checkpoint, keys)
        if problem is None:
            _remember(row)
            problem = _stamp_problem(checkpoint)
        verdicts[checkpoint.pk] = (row, problem)
    return verdicts


def _stamp_problem(checkpoint: RecordCheckpoint) -> str | None:
    if checkpoint.tsa_token is None or not settings.RECORD_TSA_CA_FILE:
        return None
    from incidents.legal.record_tsa import token_problem  # only where time-stamps are kept

    return token_problem(checkpoint)


def _check_schedule(
    report: CheckpointReport, scheduled: list[tuple[int, int]], head_seq: int
) -> CheckpointReport:
    """Each scheduled checkpoint (seq, prev_seq) names the one before it (signed); the newest
    is less than RECORD_CHECKPOINT_EVERY events behind the head; a log with events has one at
    all."""
    every = settings.RECORD_CHECKPOINT_EVERY
    if not scheduled:
        if head_seq:
            detail = (
                f"no signed checkpoint, though the log holds {head_seq} events (one is signed "
                "with the first event and then every RECORD_CHECKPOINT_EVERY): deleted"
            )
            report = report.noting(1, detail)
        return report
    before = 0
    for seq, prev_seq in scheduled:
        if prev_seq != before:
            report = report.noting(*_gap(seq, prev_seq, before))
        before = seq
    due = (before // every + 1) * every
    if due <= head_seq:
        detail = f"the signed checkpoint expected at #{due} (one every {every} events) is missing"
        report = report.noting(due, detail)
    return report


def _gap(seq: int, prev_seq: int, before: int) -> tuple[int, str]:
    if prev_seq > before:
        return prev_seq, (
            f"the signed checkpoint at #{prev_seq} is missing (the one at #{seq} follows it)"
        )
    return seq, f"signed checkpoint #{seq} follows #{prev_seq}, not #{before}"
