from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def ensure_sqlite_wal(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Switch an SQLite file to WAL once; the mode persists in the file, so later connections
    only read it (switching needs an exclusive lock, too costly to attempt per request)."""
    if connection.vendor != "sqlite" or connection.settings_dict["NAME"] in ("", ":memory:"):
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0].lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Breach Desk core"

    def ready(self) -> None:
        connection_created.connect(ensure_sqlite_wal, dispatch_uid="breach_desk_sqlite_wal")
