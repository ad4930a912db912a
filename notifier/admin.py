from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from notifier.models import AlertPreference, ChatLink, Delivery, LinkAudit, Subscription


@admin.register(ChatLink)
class ChatLinkAdmin(admin.ModelAdmin):
    list_display = ("user", "channel", "username", "chat_id", "active", "linked_at")
    list_filter = ("channel", "active")
    search_fields = ("user__username", "username")
    readonly_fields = ("account_id", "chat_id", "linked_at", "deactivated_reason")


@admin.register(AlertPreference)
class AlertPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "channel", "enabled", "min_severity", "own_incidents_only")
    list_filter = ("channel", "enabled", "min_severity")
    search_fields = ("user__username",)


@admin.register(LinkAudit)
class LinkAuditAdmin(admin.ModelAdmin):
    list_display = ("at", "channel", "action", "user", "account_id", "detail")
    list_filter = ("action",)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "incident", "created_at")
    raw_id_fields = ("incident",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "channel",
        "kind",
        "incident",
        "user",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
    )
    list_filter = ("status", "channel", "kind")
    search_fields = ("key", "incident__reference", "user__username")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["retry"]

    @admin.action(description="Retry selected dead or failed deliveries now")
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = queryset.filter(status__in=(Delivery.DEAD, Delivery.FAILED)).update(
            status=Delivery.PENDING, attempts=0, next_attempt_at=timezone.now(), claimed_until=None
        )
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
