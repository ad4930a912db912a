"""Walk the event log's hash chain: exit 0 when intact, 1 naming the first broken event."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.legal.record import Checkpoint, checkpoint, verify_record


class Command(BaseCommand):
    help = "Verify the tamper-evident record (the event log's hash chain)."

    def add_arguments(self, parser: CommandParser) -> None:
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

    def handle(self, *args: Any, **options: Any) -> None:
        expect = None
        if options["expect"]:
            try:
                expect = Checkpoint.parse(options["expect"])
            except ValueError as exc:
                raise CommandError(f"--expect: {exc}") from None
        run = verify_record(expect=expect)
        if not run.ok:
            self.stderr.write(f"BROKEN at event #{run.broken_seq}: {run.detail}")
            raise SystemExit(1)
        self.stdout.write(
            f"OK: {run.checked} events, chain ends at #{run.last_seq} {run.last_hash}"
        )
        if expect is not None:
            self.stdout.write(f"checkpoint {expect} confirmed")
        if options["checkpoint"]:
            self.stdout.write(f"checkpoint: {checkpoint()}")
