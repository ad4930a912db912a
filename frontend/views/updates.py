"""Status updates on the incident page (issue 20 section 2): post one, follow or unfollow the
incident. Each write calls one domain function (incidents/workspace/updates.py,
notifier/subscriptions.py); a refused form comes back on the page with what was typed kept,
never a 500."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from frontend.update_forms import StatusUpdateForm
from frontend.views.common import allowed, form_target, role_required, to_section
from frontend.views.workspace import form_refused, incident_for
from incidents.errors import DomainError
from incidents.models import Incident
from incidents.workspace.updates import ensure_may_post_updates, post_update
from notifier.subscriptions import follow, unfollow


def _to_section(incident: Incident) -> HttpResponse:
    return to_section(incident, "status-update")


@form_target("frontend:incident")
@role_required
@allowed(ensure_may_post_updates)
def update_post(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_for(request, reference)
    form = StatusUpdateForm(request.POST)
    if not form.is_valid():
        return form_refused(request, incident, form, None, status_update_form=form)
    try:
        post_update(incident, actor=request.user, **form.cleaned_data)
    except DomainError as error:  # closed or dismissed meanwhile, a promise out of range
        return form_refused(request, incident, form, error, status_update_form=form)
    return _to_section(incident)


@form_target("frontend:incident")
@role_required
def incident_follow(request: HttpRequest, reference: str) -> HttpResponse:
    """Follow (``follow=1``) or unfollow the incident: its transitions and status updates then
    reach you on Telegram. Every role that reads the incident may; it changes nothing of it."""
    incident = incident_for(request, reference)
    if request.POST.get("follow") == "1":
        follow(request.user, incident)
    else:
        unfollow(request.user, incident)
    return _to_section(incident)
