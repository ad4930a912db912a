"""Admin for runbooks and tasks (issue 20): admins edit the runbook steps (what entering a phase
adds to an incident); tasks are read here and changed only through incidents/workspace/tasks.py,
each change an event."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from incidents.models import RunbookStep, Task


@admin.register(RunbookStep)
class RunbookStepAdmin(admin.ModelAdmin):
    """A changed step applies to incidents that enter its phase from now on; tasks already
    added keep their own required and second-engineer marks."""

    list_display = (
        "title_en",
        "title_fa",
        "phase",
        "attack_vector",
        "position",
        "required",
        "confirms",
        "active",
    )
    list_editable = ("position", "required", "confirms", "active")
    list_filter = ("phase", "attack_vector", "required", "active")
    search_fields = ("title_en", "title_fa")
    ordering = ("phase", "attack_vector", "position", "id")


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ("title", "incident", "phase", "required", "assignee", "due_at", "done_at")
    list_filter = ("phase", "required", "confirms")
    search_fields = ("incident__reference", "title")
    list_select_related = ("incident", "assignee")
