"""What the signed checkpoints say about the record, before the chain is walked: every
signature holds (and every kept time-stamp, when ``RECORD_TSA_CA_FILE`` is set), no scheduled
checkpoint is missing, none names an event past the log's end, and (for the part of the log a
run does not walk) each lies on the stored chain.

The walk (incidents/legal/record.py) then requires the chain to pass through every signed
(seq, hash) it meets."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.conf import settings

from incidents.legal.record_signing import known_public_keys, signature_problem
from incidents.models import CheckpointReason, Event, LogHead, RecordCheckpoint

GENESIS_HASH = "0" * 64  # incidents.events.GENESIS_HASH (that module imports the signing one)
BATCH = 2000


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
        below = sorted(s for s in self.signed if 0 < s < seq)
        for i in range(0, len(below), BATCH):
            batch = below[i : i + BATCH]
            stored = dict(Event.objects.filter(seq__in=batch).values_list("seq", "hash"))
            for s in batch:
                if stored.get(s) != self.signed[s]:
                    report = report.noting(s, _off_chain(s, s in stored))
        return report


def _off_chain(seq: int, present: bool) -> str:
    if not present:
        return f"event #{seq} of signed checkpoint #{seq} is missing"
    return (
        f"the chain does not pass through signed checkpoint #{seq}: the log was rewritten "
        f"at or before event #{seq}"
    )


def check_checkpoints() -> CheckpointReport:
    """Check every checkpoint's signature and the scheduled ones' sequence (one read of the
    checkpoints, one signature check each: some 10,000 for ten million events)."""
    keys = known_public_keys()
    head_seq = LogHead.objects.latest_seq()
    report = CheckpointReport()
    scheduled: list[RecordCheckpoint] = []
    for checkpoint in RecordCheckpoint.objects.order_by("seq", "id").iterator(chunk_size=BATCH):
        report = replace(report, count=report.count + 1)
        problem = signature_problem(checkpoint, keys) or _stamp_problem(checkpoint)
        if problem:
            report = report.noting(checkpoint.seq, problem)
            continue
        known = report.signed.get(checkpoint.seq)
        if known is not None and known != checkpoint.hash:
            detail = f"two signed checkpoints at #{checkpoint.seq} name different hashes"
            report = report.noting(checkpoint.seq, detail)
        report.signed.setdefault(checkpoint.seq, checkpoint.hash)
        if checkpoint.seq > head_seq:
            detail = (
                f"signed checkpoint #{checkpoint.seq} names an event past the log's end "
                f"(#{head_seq}): events at the end were deleted"
            )
            report = report.noting(head_seq + 1, detail)
        if checkpoint.why == CheckpointReason.EVERY:
            scheduled.append(checkpoint)
    return _check_schedule(report, scheduled, head_seq)


def _stamp_problem(checkpoint: RecordCheckpoint) -> str | None:
    if checkpoint.tsa_token is None or not settings.RECORD_TSA_CA_FILE:
        return None
    from incidents.legal.record_tsa import token_problem  # only where time-stamps are kept

    return token_problem(checkpoint)


def _check_schedule(
    report: CheckpointReport, scheduled: list[RecordCheckpoint], head_seq: int
) -> CheckpointReport:
    """Each scheduled checkpoint names the one before it (signed); the newest is less than
    RECORD_CHECKPOINT_EVERY events behind the head; a log with events has one at all."""
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
    for checkpoint in scheduled:
        if checkpoint.prev_seq != before:
            report = report.noting(*_gap(checkpoint, before))
        before = checkpoint.seq
    due = (before // every + 1) * every
    if due <= head_seq:
        detail = f"the signed checkpoint expected at #{due} (one every {every} events) is missing"
        report = report.noting(due, detail)
    return report


def _gap(checkpoint: RecordCheckpoint, before: int) -> tuple[int, str]:
    if checkpoint.prev_seq > before:
        return checkpoint.prev_seq, (
            f"the signed checkpoint at #{checkpoint.prev_seq} is missing (the one at "
            f"#{checkpoint.seq} follows it)"
        )
    return checkpoint.seq, (
        f"signed checkpoint #{checkpoint.seq} follows #{checkpoint.prev_seq}, not #{before}"
    )
