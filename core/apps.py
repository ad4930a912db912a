from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core.management import call_command
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


def ensure_sqlite_wal(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Switch an SQLite file to WAL once; the mode persists in the file, so later connections
    only read it (switching needs an exclusive lock, too costly to attempt per request)."""
    if connection.vendor != "sqlite" or connection.settings_dict["NAME"] in ("", ":memory:"):
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0].lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")


def create_cache_table(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After every ``migrate``, the database cache's table (settings.CACHES without REDIS_URL;
    the sign-in counters live there): wherever the schema is made, so is the table. The
    command skips a table that exists and caches that are not in the database."""
    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Breach Desk core"

    def ready(self) -> None:
        connection_created.connect(ensure_sqlite_wal, dispatch_uid="breach_desk_sqlite_wal")
        post_migrate.connect(create_cache_table, sender=self, dispatch_uid="breach_desk_cache")
        from django.conf import settings
        from django.db.models.signals import post_save

        from core.models import revoke_tokens_of_old_password

        post_save.connect(
            revoke_tokens_of_old_password,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="breach_desk_revoke_tokens_of_old_password",
        )
