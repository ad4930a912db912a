"""The post-incident review on the incident page (issue 20, section 3): save the review,
add a follow-up, change one, mark one done or not done. Each write calls one domain function of
incidents/workspace/; a refusal comes back on the page with what was typed kept, never a 500."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404

from frontend.review_forms import FollowUpDoneForm, FollowUpEditForm, FollowUpForm, ReviewForm
from frontend.views.common import allowed, form_target, role_required, to_section
from frontend.views.review_parts import review_part
from frontend.views.workspace import form_refused, incident_for, refused
from incidents.errors import DomainError
from incidents.models import FollowUp, Incident
from incidents.workspace.follow_ups import add_follow_up, update_follow_up
from incidents.workspace.review import ensure_may_write_review, save_review


def _to_review(incident: Incident) -> HttpResponse:
    return to_section(incident, "review")


@form_target("frontend:incident")
@role_required
@allowed(ensure_may_write_review)
def review_save(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_for(request, reference)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return form_refused(request, incident, form, None, review_form=form)
    try:
        save_review(
            incident.reference,
            actor=request.user,
            expected_version=form.cleaned_data["version"],
            **form.values(),
        )
    except DomainError as error:  # 400 no root cause, 409 not restored or frozen, 412 stale
        return form_refused(request, incident, form, error, review_form=form)
    return _to_review(incident)


@form_target("frontend:incident")
@role_required
@allowed(ensure_may_write_review)
def follow_up_add(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_for(request, reference)
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        return form_refused(request, incident, form, None, follow_up_form=form)
    try:
        add_follow_up(incident.reference, actor=request.user, **form.values())
    except DomainError as error:  # an unknown owner, a due date out of range
        return form_refused(request, incident, form, error, follow_up_form=form)
    return _to_review(incident)


@form_target("frontend:incident")
@role_required
@allowed(ensure_may_write_review)
def follow_up_edit(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    incident = incident_for(request, reference)
    follow_up = get_object_or_404(FollowUp.objects.filter(incident=incident), pk=pk)
    form = FollowUpEditForm(request.POST, follow_up=follow_up)
    rows = review_part(request, incident, bound={follow_up.pk: form})["follow_up_rows"]
    again = {"follow_up_rows": rows}
    if not form.is_valid():
        return form_refused(request, incident, form, None, **again)
    try:
        update_follow_up(
            incident.reference,
            follow_up.pk,
            actor=request.user,
            changes=form.values(),
            expected_version=form.cleaned_data["version"],
        )
    except DomainError as error:
        return form_refused(request, incident, form, error, **again)
    return _to_review(incident)


@form_target("frontend:incident")
@role_required
@allowed(ensure_may_write_review)
def follow_up_done(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    incident = incident_for(request, reference)
    follow_up = get_object_or_404(FollowUp.objects.filter(incident=incident), pk=pk)
    form = FollowUpDoneForm(request.POST, prefix=f"done-{follow_up.pk}")
    if not form.is_valid():
        return form_refused(request, incident, form, None)
    try:
        update_follow_up(
            incident.reference,
            follow_up.pk,
            actor=request.user,
            changes={"done": form.cleaned_data["done"]},
            expected_version=form.cleaned_data["version"],
        )
    except DomainError as error:  # 412: someone else changed it meanwhile
        return refused(request, incident, error)
    return _to_review(incident)
