"""Receive one bot channel's updates by long polling (installs without a public URL for the
webhook): ``manage.py run_bot --channel telegram|bale``."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifier.bot import process_update
from notifier.channels import bot_channel
from notifier.models import BOT_CHANNELS
from notifier.ratelimit import RateLimiter
from notifier.transports.botapi import BotApiTransport
from notifier.transports.errors import TransportError
from notifier.worker import Sender

log = logging.getLogger("notifier.bot")


class Command(BaseCommand):
    help = "Answer a bot channel's commands and buttons by long polling getUpdates."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", choices=BOT_CHANNELS, default="telegram")
        parser.add_argument("--poll-timeout", type=int, default=25)
        parser.add_argument("--max-seconds", type=float, default=None)

    def handle(
        self,
        *args: Any,
        channel: str,
        poll_timeout: int,
        max_seconds: float | None,
        **options: Any,
    ) -> None:
        bot = bot_channel(channel)
        if not bot.configured:
            name = f"{channel.upper()}_BOT_TOKEN"
            raise CommandError(f"{name} is not set; the {bot.label} bot cannot receive updates.")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *a: stop.set())
        signal.signal(signal.SIGINT, lambda *a: stop.set())
        transport = BotApiTransport(bot)
        sender = Sender(transport, RateLimiter(bot.global_rate, 0.0))
        sender.start()
        deadline = time.monotonic() + max_seconds if max_seconds else None
        try:
            poll(sender, transport, stop, poll_timeout, deadline)
        finally:
            sender.stop()


def poll(
    sender: Sender,
    transport: BotApiTransport,
    stop: threading.Event,
    poll_timeout: int,
    deadline: float | None,
) -> None:
    """Fetch updates from the transport's channel and answer each through it."""
    channel = transport.channel.name
    offset: int | None = None
    while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
        try:
            updates = sender.run(transport.get_updates(offset, poll_timeout))
        except TransportError as exc:
            log.warning("%s getUpdates failed: %s", channel, exc.message)
            stop.wait(exc.retry_after or 3.0)
            continue
        for update in updates:
            offset = int(update["update_id"]) + 1
            reply = process_update(channel, update)
            if reply is not None:
                method = reply.pop("method")
                try:
                    sender.run(transport.call(method, reply))
                except TransportError as exc:  # a lost reply is re-asked by the user
                    log.warning("%s reply %s failed: %s", channel, method, exc.message)
