"""Create the built-in jurisdiction rules (GDPR-33, GDPR-34, NIS2, KALAK) that do not exist yet.

Idempotent and never overwrites an admin's edits, so deployments run it after every migrate."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from incidents.legal.obligations import seed_rules


class Command(BaseCommand):
    help = "Seed the built-in jurisdiction rules (keeps existing ones as admins left them)."

    def handle(self, *args: Any, **options: Any) -> None:
        created = seed_rules()
        self.stdout.write(f"created: {', '.join(created) or 'none (all present)'}")
