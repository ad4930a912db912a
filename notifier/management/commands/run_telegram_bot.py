"""Receive Telegram bot updates by long polling: ``run_bot --channel telegram`` under its
older name, kept for existing deployments."""

from __future__ import annotations

from typing import Any

from notifier.management.commands.run_bot import Command as RunBot
from notifier.management.commands.run_bot import poll

__all__ = ["Command", "poll"]


class Command(RunBot):
    help = "Answer Telegram bot commands and buttons by long polling getUpdates."

    def handle(self, *args: Any, **options: Any) -> None:
        super().handle(*args, **{**options, "channel": "telegram"})
