"""Notice campaigns on the incident page (issue 18 part 3): legal drafts, previews, approves
(a second person: four eyes) and cancels; the worker sends. Each write calls one domain function
of incidents/affected/campaigns.py and shows its refusal on the page, never a 500.

``affected_live`` is the fragment the page fetches to follow the progress: every few seconds
while a campaign is approved or being sent (htmx polling: sends write no event), and at once on
a ``campaign.*`` or ``register.*`` event of the incident's live stream (incident_live.js)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from frontend import affected_forms, forms
from frontend.views.affected_parts import live_part, may_follow_notices
from frontend.views.common import allowed, error_page, form_target, role_required, to_section
from frontend.views.workspace import incident_for, page, refused
from incidents.affected.campaigns import (
    CAMPAIGN,
    approve_campaign,
    cancel_campaign,
    draft_campaign,
    ensure_may_write_notices,
    preview,
)
from incidents.affected.letters import LANGUAGES
from incidents.errors import DomainError, InvalidChange, RequirementsMissing
from incidents.models import AccessKind, Incident, NoticeCampaign, NoticeLanguage
from incidents.need_to_know import record_access


def _to_notices(incident: Incident) -> HttpResponse:
    return to_section(incident, "notices")


def _campaign(incident: Incident, pk: int) -> NoticeCampaign:
    return get_object_or_404(incident.notice_campaigns.select_related("incident"), pk=pk)


@form_target("frontend:incident")
@role_required
@allowed(ensure_may_write_notices)
def campaign_draft(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_for(request, reference)
    form = affected_forms.CampaignDraftForm(request.POST)
    if not form.is_valid():
        return page(request, incident, 400, draft_form=form)
    try:
        draft_campaign(incident, actor=request.user, texts=form.texts())
    except InvalidChange as error:
        for name, problems in error.errors.items():
            form.add_error(form.field_of(name), [f"{name}: {p}" for p in problems])
        return page(request, incident, 400, draft_form=form)
    except DomainError as error:
        return refused(request, incident, error, draft_form=form)
    return _to_notices(incident)


def _step(request: HttpRequest, reference: str, pk: int, name: str) -> HttpResponse:
    """Approve or cancel, against the version the person saw (412 when it moved on)."""
    incident = incident_for(request, reference)
    campaign = _campaign(incident, pk)
    form = forms.transition_form(CAMPAIGN)(request.POST)
    if not form.is_valid():
        # Back to the page (a reload never re-posts), saying so in its error summary.
        return page(request, incident, 400, error=_("The form was incomplete; try again."))
    version = form.cleaned_data["version"]
    try:
        if name == "approve":
            approve_campaign(campaign, actor=request.user, expected_version=version)
        else:
            reason = form.cleaned_data.get("reason") or ""
            cancel_campaign(campaign, actor=request.user, reason=reason, expected_version=version)
    except RequirementsMissing as error:
        # The domain's own sentence: "nobody left to notify", or the reason a cancel needs.
        return page(request, incident, 400, error=error.detail)
    except DomainError as error:  # 403 four eyes, 409 busy or over, 412 stale
        return refused(request, incident, error)
    return _to_notices(incident)


@form_target("frontend:incident")
@role_required
@allowed(ensure_may_write_notices)
def campaign_approve(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    return _step(request, reference, pk, "approve")


@form_target("frontend:incident")
@role_required
@allowed(ensure_may_write_notices)
def campaign_cancel(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    return _step(request, reference, pk, "cancel")


@role_required
@allowed(ensure_may_write_notices)
def campaign_preview(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """The letter and the SMS as the register's first reader of a language receives them (a
    made-up reader when there is none); a real reader's preview is a logged read, as in the
    API."""
    incident = incident_for(request, reference)
    campaign = _campaign(incident, pk)
    language = request.GET.get("lang", settings.LANGUAGE_CODE)
    if language not in LANGUAGES:
        return error_page(request, 400, _("There is no notice in that language."))
    try:
        shown = preview(campaign, language)
    except DomainError as error:  # the register's key does not open the reader's row: 503
        return error_page(request, error.status, error.detail)
    if shown.person is not None:
        target = f"notice-preview:{campaign.pk}:{shown.person}"
        record_access(request, incident, AccessKind.REGISTER_READ, target)
    context: dict[str, Any] = {
        "incident": incident,
        "campaign": campaign,
        "shown": shown,
        "languages": [(code, label) for code, label in NoticeLanguage.choices],
        "rtl": language == "fa",
    }
    return render(request, "frontend/notice_preview.html", context)


@role_required
def affected_live(request: HttpRequest, reference: str) -> HttpResponse:
    """The counts and the campaigns' progress, for the page to swap in (legal, admins,
    executives: the same numbers the page shows them)."""
    incident = incident_for(request, reference)
    if not may_follow_notices(request.user):
        return error_page(
            request, 403, _("Your role does not follow notices to the people affected.")
        )
    context = {"incident": incident, **live_part(request, incident)}
    return render(request, "frontend/partials/affected_live.html", context)
