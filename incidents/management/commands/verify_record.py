"""Verify the record: the signed checkpoints and the event log's hash chain. Exit 0 when
intact, 1 naming the first broken event or checkpoint."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.legal.record import Checkpoint, checkpoint, verify_record
from incidents.legal.record_signing import public_key_fingerprint, sign_checkpoint
from incidents.models import CheckpointReason, RecordCheckpoint


class Command(BaseCommand):
    help = (
        "Verify the tamper-evident record: every signed checkpoint, and the event log's hash "
        "chain from the last verified checkpoint (--full: from the first event)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--full",
            action="store_true",
            help="walk the whole chain, not only what followed the last verified checkpoint",
        )
        parser.add_argument(
            "--checkpoint",
            action="store_true",
            help="after verifying, print the latest SEQ:HASH for legal to keep outside the system",
        )
        parser.add_argument(
            "--expect",
            metavar="SEQ:HASH",
            help="also require this kept checkpoint to be in the chain (detects a deleted tail)",
        )
        parser.add_argument(
            "--stamp",
            action="store_true",
            help="first time-stamp the checkpoints still without one (when RECORD_TSA_URL is set)",
        )
        parser.add_argument(
            "--sign",
            action="store_true",
            help="after verifying, sign the log head now (a checkpoint made on demand)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        expect = None
        if options["expect"]:
            try:
                expect = Checkpoint.parse(options["expect"])
            except ValueError as exc:
                raise CommandError(f"--expect: {exc}") from None
        if options["stamp"]:
            self._stamp()
        run = verify_record(expect=expect, full=options["full"])
        if not run.ok:
            self.stderr.write(f"BROKEN at event #{run.broken_seq}: {run.detail}")
            raise SystemExit(1)
        walked = "from the first event" if not run.from_seq else f"from #{run.from_seq}"
        self.stdout.write(
            f"OK: {run.checked} events ({walked}), chain ends at #{run.last_seq} "
            f"{run.last_hash}; signed checkpoints verified: {run.checkpoints}"
        )
        if expect is not None:
            self.stdout.write(f"checkpoint {expect} confirmed")
        if options["sign"]:
            made = sign_checkpoint(CheckpointReason.MANUAL)
            self.stdout.write(
                f"signed checkpoint: {made.seq}:{made.hash} key {public_key_fingerprint()}"
            )
        if options["checkpoint"]:
            self.stdout.write(f"checkpoint: {checkpoint()}")

    def _stamp(self) -> None:
        if not settings.RECORD_TSA_URL:
            self.stdout.write("time-stamped: none (RECORD_TSA_URL is not set)")
            return
        from incidents.legal.record_tsa import stamp_pending

        left = RecordCheckpoint.objects.unstamped().count()
        done = stamp_pending(limit=left)
        self.stdout.write(f"time-stamped: {done} of {left} checkpoints")
