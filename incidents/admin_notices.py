"""Admin views of the notices (issue 18; imported by incidents/admin.py): admins edit the notice
templates, each checked like a campaign's texts before it is saved (the sandbox of
incidents/affected/letters.py); campaigns and notices are read-only here (they change through
the API and the worker), and show no person's data: a notice holds none."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.admin import ReadOnlyAdmin
from incidents.affected.letters import SMS_MAX, check_source
from incidents.affected.notice_templates import KINDS, SMS
from incidents.errors import InvalidChange
from incidents.models import AffectedCheck, Notice, NoticeCampaign, NoticeTemplate


class NoticeTemplateForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=[(kind, kind) for kind in KINDS])

    class Meta:
        model = NoticeTemplate
        fields = ("kind", "language", "subject", "body")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("kind") == SMS and len(cleaned.get("body") or "") > SMS_MAX:
            self.add_error("body", _("At most %(max)d characters.") % {"max": SMS_MAX})
        for field in ("subject", "body"):
            source = cleaned.get(field)
            if not source:
                continue
            try:
                check_source(source, field)
            except InvalidChange as exc:
                self.add_error(field, ValidationError(exc.errors[field]))
        return cleaned


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(admin.ModelAdmin):
    """The letter ("base"), the SMS ("sms") and the advice per data category, in Persian and
    English. A campaign copies them when it is drafted: editing one changes no campaign."""

    form = NoticeTemplateForm
    list_display = ("kind", "language", "subject")
    list_filter = ("language", "kind")


@admin.register(NoticeCampaign)
class NoticeCampaignAdmin(ReadOnlyAdmin):
    list_display = ("id", "incident", "state", "drafted_by", "approved_by", "finished_at")
    list_filter = ("state",)
    search_fields = ("incident__reference",)
    list_select_related = ("incident", "drafted_by", "approved_by")


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    """The outbox rows: status, attempts and the last error (addresses taken out) per notice."""

    list_display = ("id", "campaign", "channel", "status", "attempts", "sent_at", "last_error")
    list_filter = ("status", "channel")
    search_fields = ("campaign__incident__reference",)
    list_select_related = ("campaign",)


@admin.register(AffectedCheck)
class AffectedCheckAdmin(ReadOnlyAdmin):
    """The public check's code messages (incidents/affected/checks.py): their status, attempts
    and last error, never the address, its hash, the code or the handle (none is an editable
    field, so none is shown)."""

    list_display = (
        "id",
        "incident",
        "channel",
        "status",
        "attempts",
        "tries",
        "created_at",
        "verified_at",
        "last_error",
    )
    list_filter = ("status", "channel")
    search_fields = ("incident__reference",)
    list_select_related = ("incident",)
