from typing import Any

from django.contrib import admin

from core.models import ApiToken, Profile


class ReadOnlyAdmin(admin.ModelAdmin):
    """An admin page that shows rows and changes none (the apps' records change only through
    their domain functions)."""

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "language", "time_zone", "manager")
    # The manager is whom an escalation calls after the on-call engineers (docs/oncall.md).
    autocomplete_fields = ("manager",)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read and revoke (delete) anyone's tokens; a key is shown only to whoever asked for it
    (POST /api/auth/token/), so none is made here."""

    list_display = ("id", "user", "created", "expires_at", "last_used")
    list_filter = ("expires_at",)
    search_fields = ("user__username",)
    readonly_fields = ("user", "created", "expires_at", "last_used")
    fields = readonly_fields

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False
