"""Admin views of status updates (issue 20 section 2; imported by incidents/admin.py): admins
edit the cadence per severity; updates are read-only (posted through the API and the incident
page, each an event of the record)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from incidents.models import StatusUpdate, UpdateCadence


@admin.register(UpdateCadence)
class UpdateCadenceAdmin(admin.ModelAdmin):
    """Minutes between updates per severity; a severity without a row owes none. A change
    applies from each incident's next update (or severity change), not to times already owed."""

    list_display = ("severity", "minutes")
    ordering = ("minutes",)

    def get_readonly_fields(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        # A cadence is edited, not moved to another severity.
        return ("severity",) if obj else ()


@admin.register(StatusUpdate)
class StatusUpdateAdmin(ReadOnlyAdmin):
    list_display = ("id", "incident", "author", "created_at", "next_update_at")
    search_fields = ("incident__reference",)
    list_select_related = ("incident", "author")
