"""A status update as the API shows it: in its own list and as the incident's
``latest_update`` (a module of its own, so the incident's serializers and the updates' views
both import it without importing each other)."""

from __future__ import annotations

from rest_framework import serializers

from incidents.models import StatusUpdate


class StatusUpdateSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    next_update_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the next update is owed; null: none."
    )

    class Meta:
        model = StatusUpdate
        fields = ("id", "body", "author", "created_at", "next_update_at")
        read_only_fields = fields
