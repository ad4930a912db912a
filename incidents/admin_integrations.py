"""Admin views of monitoring's integrations (issue 22 §3; imported by incidents/admin.py).

Admins add, rename, switch off and re-key integrations here; a new key's URL path is shown
once, in the page's messages, and never again (only its digest is stored). The alerts they
sent are read-only: they change only by the senders' posts (incidents/integrations.py).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import ReadOnlyAdmin
from incidents.choices import OPEN_STATES
from incidents.integrations import path_of, register, rotate_key
from incidents.models import IncomingAlert, Integration


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "kind",
        "default_severity",
        "active",
        "last_received_at",
        "open_alerts",
        "account",
    )
    list_filter = ("kind", "active")
    search_fields = ("name",)
    list_select_related = ("account",)
    fields = ("name", "kind", "default_severity", "active")
    readonly_fields = ("account", "created_by", "created_at", "last_received_at")
    actions = ("issue_new_key",)

    def get_fields(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        # A new integration has none of the read-only facts yet (the key's save makes them).
        return self.fields if obj is None else (*self.fields, *self.readonly_fields)

    def get_queryset(self, request: Any) -> QuerySet:
        firing = Q(alerts__is_open=True, alerts__incident__state__in=OPEN_STATES)
        return super().get_queryset(request).annotate(open_alert_count=Count("alerts", firing))

    @admin.display(description=gettext_lazy("open alerts"), ordering="open_alert_count")
    def open_alerts(self, obj: Integration) -> int:
        return obj.open_alert_count

    def save_model(self, request: Any, obj: Integration, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        obj.created_by = request.user
        self._show_once(request, obj, register(obj))

    @admin.action(description=gettext_lazy("Issue a new key (the old URL stops working)"))
    def issue_new_key(self, request: Any, queryset: QuerySet) -> None:
        for integration in queryset:
            self._show_once(request, integration, rotate_key(integration))

    def _show_once(self, request: Any, integration: Integration, key: str) -> None:
        path = path_of(key)
        message = _(
            "%(name)s: its URL is %(url)s (path %(path)s). Copy it into the sender now: it is "
            "shown only this once."
        )
        values = {"name": integration.name, "url": settings.PUBLIC_BASE_URL + path, "path": path}
        self.message_user(request, message % values, messages.WARNING)


@admin.register(IncomingAlert)
class IncomingAlertAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "integration",
        "name",
        "fingerprint",
        "incident",
        "is_open",
        "repeats",
        "first_seen_at",
        "last_seen_at",
        "resolved_at",
    )
    list_filter = ("is_open", "integration")
    search_fields = ("fingerprint", "name", "incident__reference")
    list_select_related = ("integration", "incident")
