"""Long-running worker that sends Telegram alerts from the outbox. Stops cleanly on SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from notifier.worker import Worker

log = logging.getLogger("notifier.worker")


class Command(BaseCommand):
    help = "Send Telegram alerts: derive deliveries from the event log, send, retry, dead-letter."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--until-idle",
            action="store_true",
            help="exit once nothing is due (for scripts and tests)",
        )
        parser.add_argument(
            "--max-seconds", type=float, default=None, help="exit after this many seconds"
        )

    def handle(
        self, *args: Any, until_idle: bool, max_seconds: float | None, **options: Any
    ) -> None:
        stop = threading.Event()

        def on_signal(signum: int, frame: object) -> None:
            log.info("signal %s: finishing sends under way, then stopping", signum)
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        log.info("notifier worker starting")
        Worker(stop=stop).run(until_idle=until_idle, max_seconds=max_seconds)
        log.info("notifier worker stopped")
