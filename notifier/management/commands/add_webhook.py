"""Register an outbound webhook and print its secret, once (docs/webhooks.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.choices import Severity
from notifier.webhooks import InvalidWebhook, register_webhook


class Command(BaseCommand):
    help = "Register a URL that receives the event log's events, signed; prints its secret once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="http(s) URL that receives the POSTs")
        parser.add_argument("--name", default="", help="a name for the admin's list")
        parser.add_argument(
            "--kinds",
            default="",
            help="comma-separated event kinds (created,escalated,...); default: every kind",
        )
        parser.add_argument(
            "--min-severity",
            default=Severity.LOW,
            help="only incidents at least this severe (low, medium, high, critical)",
        )

    def handle(self, *args: Any, url: str, name: str, kinds: str, **options: Any) -> None:
        try:
            hook, secret = register_webhook(
                name=name,
                url=url,
                kinds=kinds.split(","),
                min_severity=options["min_severity"],
                created_by=None,
            )
        except InvalidWebhook as exc:
            raise CommandError(str(exc)) from None
        # Operator output, in English like the other commands'.
        self.stdout.write(f"webhook {hook.pk} registered: {hook.url}")
        self.stdout.write(f"secret (shown only now, keep it with the receiver): {secret}")
