"""Receive bot updates by long polling (installs without a public URL for the webhook)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifier.bot import process_update
from notifier.ratelimit import RateLimiter
from notifier.transports.telegram import TelegramTransport, TransportError
from notifier.worker import Sender

log = logging.getLogger("notifier.bot")


class Command(BaseCommand):
    help = "Answer Telegram bot commands and buttons by long polling getUpdates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--poll-timeout", type=int, default=25)
        parser.add_argument("--max-seconds", type=float, default=None)

    def handle(
        self, *args: Any, poll_timeout: int, max_seconds: float | None, **options: Any
    ) -> None:
        if not settings.TELEGRAM_BOT_TOKEN:
            raise CommandError("TELEGRAM_BOT_TOKEN is not set; the bot cannot receive updates.")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *a: stop.set())
        signal.signal(signal.SIGINT, lambda *a: stop.set())
        transport = TelegramTransport(settings.TELEGRAM_BOT_TOKEN)
        sender = Sender(transport, RateLimiter(settings.TELEGRAM_GLOBAL_RATE, 0.0))
        sender.start()
        deadline = time.monotonic() + max_seconds if max_seconds else None
        try:
            poll(sender, transport, stop, poll_timeout, deadline)
        finally:
            sender.stop()


def poll(
    sender: Sender,
    transport: TelegramTransport,
    stop: threading.Event,
    poll_timeout: int,
    deadline: float | None,
) -> None:
    offset: int | None = None
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        try:
            updates = sender.run(transport.get_updates(offset, poll_timeout))
        except TransportError as exc:
            log.warning("getUpdates failed: %s", exc.message)
            stop.wait(exc.retry_after or 3.0)
            continue
        for update in updates:
            offset = int(update["update_id"]) + 1
            reply = process_update(update)
            if reply is not None:
                method = reply.pop("method")
                try:
                    sender.run(transport.call(method, reply))
                except TransportError as exc:  # a lost reply is re-asked by the user
                    log.warning("reply %s failed: %s", method, exc.message)
