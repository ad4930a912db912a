from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def restore_search_index(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from incidents.models.search import restore_sqlite_search_index

    restore_sqlite_search_index(connections[using])


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = "Incidents"

    def ready(self) -> None:
        from incidents.stream.push import watch_access_changes

        # Every process that can sign someone out, deactivate or demote them says so to the
        # live stream (signals are the only place Django announces these).
        watch_access_changes()
        # SQLite drops a table's triggers when a migration rebuilds it: the text search's
        # are put back after every migrate (incidents/models/search.py).
        post_migrate.connect(restore_search_index, sender=self)
