"""Admin views of the post-incident review and its follow-ups (issue 20; imported by
incidents/admin.py): read-only, since both change only through incidents/workspace/, each change
an event on the incident's timeline."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin
from incidents.models import FollowUp, Review


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ("incident", "finished_at", "finished_by", "updated_at", "version")
    search_fields = ("incident__reference",)
    list_select_related = ("incident", "finished_by")


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    list_display = ("id", "incident", "title", "owner", "due_at", "done_at", "done_by")
    list_filter = ("done_at",)
    search_fields = ("incident__reference", "title", "owner__username")
    list_select_related = ("incident", "owner", "done_by")
