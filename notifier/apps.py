from __future__ import annotations

import logging

from django.apps import AppConfig

log = logging.getLogger(__name__)

# LISTEN/NOTIFY channel; per database, so parallel test databases never wake each other.
NOTIFY_CHANNEL = "breach_desk_events"


def notify_worker(event: object) -> None:
    """After-commit hook: wake a LISTENing worker now instead of at its next poll.

    Only a wake-up: losing it costs latency, never an alert (the worker also polls)."""
    from django.db import connection

    try:
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {NOTIFY_CHANNEL}")
    except Exception:  # a failed wake-up must never break the write that already committed
        log.warning("could not NOTIFY the notifier worker", exc_info=True)


class NotifierConfig(AppConfig):
    name = "notifier"
    verbose_name = "Telegram notifier"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db import connection

        from incidents.events import on_event_committed

        if connection.vendor == "postgresql":
            on_event_committed(notify_worker)
