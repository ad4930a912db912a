"""The incidents list and the incident workspace. Every write calls one domain function."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.api.pagination import CappedPaginator
from frontend import forms
from frontend.views import flash_forms
from frontend.views.common import allowed, error_page, form_target, role_required, to_section
from frontend.views.workspace import SECTIONS, add_errors, incident_for, page, refused
from incidents.acknowledgements import acknowledge
from incidents.affected.decision import record_decision
from incidents.errors import DomainError, InvalidChange, StaleVersion
from incidents.filters import IncidentFilter
from incidents.lifecycle import (
    INCIDENT,
    create_incident,
    ensure_may_edit,
    ensure_may_log,
    may_write_incidents,
    update_incident,
)
from incidents.models import Incident
from incidents.need_to_know import change_restriction, record_opened
from incidents.notes import add_note, ensure_may_add_notes

PAGE_SIZE = 50


@role_required
def incident_list(request: HttpRequest) -> HttpResponse:
    # The API's filter: a filter that does not parse (a hand-edited URL) is named and left out,
    # the others still apply.
    filters = IncidentFilter(
        request.GET or None,
        # Ties in reference order, like every sort of the filter: one index serves it.
        Incident.objects.visible_to(request.user)
        .with_people()
        .order_by("-detected_at", "-ref_year", "-ref_number"),
    )
    ignored = [str(filters.form.fields[name].label) for name in filters.errors]
    page_of = CappedPaginator(filters.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "frontend/incident_list.html",
        {
            "filters": filters.form,
            "ignored_filters": ignored,
            "page": page_of,
            "query": query.urlencode(),
            "may_create": may_write_incidents(request.user),
            "create_form": forms.IncidentCreateForm(),
        },
    )


@role_required
@allowed(ensure_may_log)
def incident_create(request: HttpRequest) -> HttpResponse:
    """The "Declare incident" page (GET) and its form's target (POST)."""
    here = reverse("frontend:incident_create")
    if request.method in ("GET", "HEAD"):
        context = flash_forms.show_kept(request, here, {"create_form": forms.IncidentCreateForm()})
        return render(request, "frontend/incident_new.html", context)
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    form = forms.IncidentCreateForm(request.POST)
    try:
        if form.is_valid():
            incident, _event = create_incident(actor=request.user, data=form.cleaned_data)
            return redirect("frontend:incident", reference=incident.reference)
    except InvalidChange as error:  # moments out of order or range: the domain's rules
        add_errors(form, error)
    return flash_forms.back_to(request, here, {"create_form": form})  # a reload never re-posts


@role_required
def incident_detail(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_for(request, reference)
    record_opened(request, incident, "page")
    return page(request, incident)


@form_target("frontend:incident")
@role_required
@allowed(ensure_may_edit)
def incident_edit(request: HttpRequest, reference: str, section: str) -> HttpResponse:
    incident = incident_for(request, reference)
    if section not in SECTIONS:
        return error_page(request, 404, _("There is no such part of an incident."))
    form = SECTIONS[section](request.POST)
    if not form.is_valid():
        return page(request, incident, 400, **{f"{section}_form": form})
    changes = {k: v for k, v in form.cleaned_data.items() if k != "version"}
    try:
        update_incident(
            incident,
            actor=request.user,
            changes=changes,
            expected_version=form.cleaned_data["version"],
        )
    except InvalidChange as error:
        add_errors(form, error)
        return page(request, incident, 400, **{f"{section}_form": form})
    except StaleVersion as error:
        kept = _rebased(form, error.current)
        return refused(request, incident, error, **{f"{section}_form": kept})
    except DomainError as error:
        return refused(request, incident, error)
    return redirect("frontend:incident", reference=incident.reference)


def _rebased(form: forms.VersionedForm, version: int) -> forms.VersionedForm:
    """What the person typed, on the current version: shown with the refusal so nothing is
    lost; sending it again is then a choice made with the other change in view."""
    data = form.data.copy()
    data["version"] = str(version)
    return type(form)(data)


@form_target("frontend:incident")
@role_required
def incident_transition(request: HttpRequest, reference: str, name: str) -> HttpResponse:
    incident = incident_for(request, reference)
    if name not in INCIDENT.names:
        return error_page(request, 404, _("There is no such step in the lifecycle."))
    form = forms.transition_form(INCIDENT)(request.POST)
    if not form.is_valid():
        return page(request, incident, 400, transition_form=form, failed_transition=name)
    try:
        form.run(incident, name, request.user)
    except DomainError as error:
        return refused(request, incident, error, transition_form=form, failed_transition=name)
    return redirect("frontend:incident", reference=incident.reference)


@form_target("frontend:incident")
@role_required
@allowed(ensure_may_add_notes)
def note_add(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_for(request, reference)
    form = forms.NoteForm(request.POST)
    if not form.is_valid():
        return page(request, incident, 400, note_form=form)
    add_note(incident, actor=request.user, text=form.cleaned_data["text"])
    return to_section(incident, "timeline")


@form_target("frontend:incident")
@role_required
def incident_acknowledge(request: HttpRequest, reference: str) -> HttpResponse:
    """The web's Acknowledge, as in Telegram: whoever works an incident from the page can stop
    its escalation without a linked phone."""
    incident = incident_for(request, reference)
    try:
        acknowledge(incident, request.user)
    except DomainError as error:
        return refused(request, incident, error)
    return redirect("frontend:incident", reference=incident.reference)


@form_target("frontend:incident")
@role_required
def incident_access(request: HttpRequest, reference: str) -> HttpResponse:
    """The restriction control of the incident page (commander, legal, admins)."""
    incident = incident_for(request, reference)
    form = forms.RestrictionForm(request.POST)
    if not form.is_valid():
        return page(request, incident, 400, restriction_form=form)
    try:
        change_restriction(
            incident,
            actor=request.user,
            restricted=form.cleaned_data["restricted"],
            members=form.cleaned_data["members"],
            expected_version=form.cleaned_data["version"],
        )
    except InvalidChange as error:
        add_errors(form, error)
        return page(request, incident, 400, restriction_form=form)
    except DomainError as error:
        return refused(request, incident, error)
    if not Incident.objects.visible_to(request.user).filter(pk=incident.pk).exists():
        return redirect("frontend:incidents")  # they took themselves off its members
    return redirect("frontend:incident", reference=incident.reference)


@form_target("frontend:incident")
@role_required
def notification_decision(request: HttpRequest, reference: str) -> HttpResponse:
    """Legal's decision on telling the people affected (incidents/affected/decision.py)."""
    incident = incident_for(request, reference)
    form = forms.DecisionForm(request.POST, categories=incident.data_categories)
    if not form.is_valid():
        return page(request, incident, 400, decision_form=form)
    try:
        record_decision(
            incident,
            actor=request.user,
            outcome=form.cleaned_data["outcome"],
            exemption=form.cleaned_data["exemption"],
            reason=form.cleaned_data["reason"],
            assessment=form.assessment(),
            expected_version=form.cleaned_data["version"],
        )
    except InvalidChange as error:
        add_errors(form, error)
        return page(request, incident, 400, decision_form=form)
    except DomainError as error:
        return refused(request, incident, error, decision_form=form)
    return redirect("frontend:incident", reference=incident.reference)
