from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy, ngettext

from core.formats import moment
from incidents.labels import EVENT_LABELS
from notifier.models import (
    AlertPreference,
    ChatLink,
    Delivery,
    LinkAudit,
    OutboundWebhook,
    Subscription,
)
from notifier.webhooks import (
    InvalidWebhook,
    clean_kinds,
    clean_url,
    enqueue_ping,
    new_secret,
    rotate_secret,
)


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
    list_filter = ("channel", "action")

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


class OutboundWebhookForm(forms.ModelForm):
    """The admin's form: kinds picked from the event log's vocabulary; the secret is never a
    field (made on creation, replaced by the rotate action)."""

    # Checked by notifier.webhooks.clean_url (http or https, a host, no credentials).
    url = forms.CharField(label=gettext_lazy("URL"), max_length=500)
    kinds = forms.MultipleChoiceField(
        choices=(),
        required=False,
        label=gettext_lazy("Event kinds"),
        help_text=gettext_lazy("None chosen: every kind."),
        widget=forms.SelectMultiple(attrs={"size": 12}),
    )

    class Meta:
        model = OutboundWebhook
        fields = ("name", "url", "kinds", "min_severity", "active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(kind, f"{kind}: {label}") for kind, label in sorted(EVENT_LABELS.items())]
        self.fields["kinds"].choices = choices

    def clean_url(self) -> str:
        try:
            return clean_url(self.cleaned_data["url"])
        except InvalidWebhook as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_kinds(self) -> list[str]:
        try:
            return clean_kinds(self.cleaned_data["kinds"])
        except InvalidWebhook as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(OutboundWebhook)
class OutboundWebhookAdmin(admin.ModelAdmin):
    form = OutboundWebhookForm
    list_display = ("name", "url", "kinds_shown", "min_severity", "active", "created_at")
    list_filter = ("active", "min_severity")
    search_fields = ("name", "url")
    readonly_fields = ("created_at", "created_by", "deliveries_shown")
    actions = ["rotate", "ping"]
    RECENT = 20

    @admin.display(description=gettext_lazy("Event kinds"))
    def kinds_shown(self, hook: OutboundWebhook) -> str:
        return ", ".join(hook.kinds) or gettext("every kind")

    @admin.display(description=gettext_lazy("Latest deliveries"))
    def deliveries_shown(self, hook: OutboundWebhook) -> str:
        if hook.pk is None:
            return "-"
        rows = hook.deliveries.select_related("event").order_by("-id")[: self.RECENT]
        listed = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    d.pk,
                    d.kind,
                    d.get_status_display(),
                    d.attempts,
                    moment(d.created_at),
                    d.last_error,
                )
                for d in rows
            ),
        )
        changelist = reverse("admin:notifier_delivery_changelist")
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
            '{}</table><p><a href="{}?webhook__id__exact={}">{}</a> · '
            '<a href="{}?webhook__id__exact={}&amp;status__exact=dead">{}</a></p>',
            gettext("delivery"),
            gettext("event kind"),
            gettext("status"),
            gettext("attempts"),
            gettext("created"),
            gettext("last error"),
            listed,
            changelist,
            hook.pk,
            gettext("All its deliveries"),
            changelist,
            hook.pk,
            gettext("Its dead letters"),
        )

    def save_model(
        self, request: HttpRequest, obj: OutboundWebhook, form: Any, change: bool
    ) -> None:
        secret = None
        if not change:
            secret, obj.secret_sealed = new_secret()
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if secret is not None:
            self.message_user(request, shown_once(obj, secret), messages.WARNING)

    @admin.action(description=gettext_lazy("Rotate the secret of the selected webhooks"))
    def rotate(self, request: HttpRequest, queryset: QuerySet[OutboundWebhook]) -> None:
        for hook in queryset:
            self.message_user(request, shown_once(hook, rotate_secret(hook)), messages.WARNING)

    @admin.action(description=gettext_lazy("Send a test delivery (ping) to the selected webhooks"))
    def ping(self, request: HttpRequest, queryset: QuerySet[OutboundWebhook]) -> None:
        hooks = list(queryset.filter(active=True))
        for hook in hooks:
            enqueue_ping(hook)
        self.message_user(
            request,
            ngettext(
                "%(count)s test delivery queued; its answer will be in the deliveries.",
                "%(count)s test deliveries queued; their answers will be in the deliveries.",
                len(hooks),
            )
            % {"count": len(hooks)},
            messages.SUCCESS,
        )


def shown_once(hook: OutboundWebhook, secret: str) -> str:
    return gettext(
        "The secret of webhook %(name)s, shown only now (give it to the receiver): %(secret)s"
    ) % {"name": hook.name, "secret": secret}


# Rotations and escalation chains (issue 22 section 2).
from notifier import admin_oncall  # noqa: E402, F401
