"""The incidents list and the incident workspace. Every write calls one domain function."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from frontend import charts, forms
from frontend.labels import FIELD_LABELS, TRANSITION_LABELS, event_labels
from frontend.localize import ascii_digits, when
from frontend.views.common import error_page, form_target, role_required
from incidents.acknowledgements import acknowledge, acknowledge_offered, acknowledged_by
from incidents.choices import TERMINAL_STATES, DataCategory
from incidents.errors import (
    DomainError,
    InvalidChange,
    MomentOutOfOrder,
    RequirementsMissing,
    RoleForbidden,
    StaleVersion,
)
from incidents.lifecycle import (
    EDITABLE_FIELDS,
    TRANSITIONS,
    apply_transition,
    create_incident,
    may_edit_incidents,
    may_write_incidents,
    transition_options,
    update_incident,
)
from incidents.models import Incident
from incidents.notes import add_note, ensure_may_add_notes, may_add_notes

SECTIONS = {
    "summary": forms.SummaryForm,
    "timing": forms.TimingForm,
    "scope": forms.ScopeForm,
    "restoration": forms.RestorationForm,
}


@role_required
def incident_list(request: HttpRequest) -> HttpResponse:
    filters = forms.IncidentFilterForm(request.GET or None)
    incidents = Incident.objects.visible_to(request.user).with_people()
    sort = forms.IncidentFilterForm.SORTS["-detected"]
    ignored = []
    if filters.is_bound:
        # The filters that parse apply; one that does not (a hand-edited URL) is named, not
        # silently taken as "everything".
        ignored = [str(filters.fields[name].label) for name in filters.errors]
        data = filters.cleaned_data
        if data.get("q"):
            reference = ascii_digits(data["q"]).upper()  # "inc-۲۰۲۶-۰۰۰۷" too
            incidents = incidents.filter(
                Q(title__icontains=data["q"]) | Q(reference__icontains=reference)
            )
        if data.get("state"):
            incidents = incidents.filter(state__in=data["state"])
        if data.get("severity"):
            incidents = incidents.filter(severity__in=data["severity"])
        sort = forms.IncidentFilterForm.SORTS.get(data.get("sort") or "-detected", sort)
    page = Paginator(incidents.order_by(*sort), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "frontend/incident_list.html",
        {
            "filters": filters,
            "ignored_filters": ignored,
            "page": page,
            "query": query.urlencode(),
            "may_create": may_write_incidents(request.user),
            "create_form": forms.IncidentCreateForm(),
        },
    )


@form_target("frontend:incidents")
@role_required
def incident_create(request: HttpRequest) -> HttpResponse:
    if not may_write_incidents(request.user):
        return error_page(request, 403, _("Only engineers and admins log incidents."))
    form = forms.IncidentCreateForm(request.POST)
    try:
        if form.is_valid():
            incident, _event = create_incident(actor=request.user, data=form.cleaned_data)
            return redirect("frontend:incident", reference=incident.reference)
    except InvalidChange as error:  # moments out of order or range: the domain's rules
        _add_errors(form, error)
    return render(request, "frontend/incident_new.html", {"create_form": form}, status=400)


def _add_errors(form: Any, error: InvalidChange) -> None:
    """Show a domain refusal on the fields it names, with what the person typed kept."""
    for field, messages in _readable(error).items():
        form.add_error(field if field in form.fields else None, messages)


def _readable(error: InvalidChange) -> dict[str, list[str]]:
    """The refusal's messages for a page: a moment it names is shown in the reader's calendar
    and a field by its label, not as the API's ISO time and field name."""
    if isinstance(error, MomentOutOfOrder):
        field = str(FIELD_LABELS.get(error.field, error.field))
        return {error.name: [error.template % {"field": field, "moment": when(error.bound)}]}
    return error.errors


def _incident(request: HttpRequest, reference: str) -> Incident:
    visible = Incident.objects.visible_to(request.user).with_people()
    return get_object_or_404(visible, reference=reference)


def workspace(request: HttpRequest, incident: Incident, **extra: Any) -> dict[str, Any]:
    """Everything the incident page shows; ``extra`` replaces a form that failed to validate."""
    may_edit = may_edit_incidents(request.user) and incident.state not in TERMINAL_STATES
    # The section forms start from the stored values of the fields a person may edit.
    initial = {"version": incident.version, **{f: getattr(incident, f) for f in EDITABLE_FIELDS}}
    options = [
        {
            "name": o.name,
            "label": TRANSITION_LABELS[o.name],
            "target": o.target,
            "missing": [FIELD_LABELS.get(m, m) for m in o.missing],
            # Close from "referred" takes nothing; from "restored" it needs the reason.
            "fields": forms.TransitionForm.PAYLOAD.get(o.name, ()) if o.takes_payload else (),
        }
        for o in transition_options(incident, request.user)
    ]
    acknowledgers = acknowledged_by(incident)
    events = list(incident.events.order_by("-seq")[:200])
    context = {
        "incident": incident,
        "may_edit": may_edit,
        "options": options,
        "transition_form": forms.TransitionForm(initial={"version": incident.version}),
        "may_note": may_add_notes(request.user),
        "acknowledged_by": acknowledgers,
        "may_acknowledge": acknowledge_offered(incident, request.user, acknowledgers),
        "note_form": forms.NoteForm(),
        "lifecycle": charts.lifecycle(incident.state, rtl=translation.get_language_bidi()),
        "referrals": list(incident.referrals.all()),
        "events": events,
        # The live notice starts from the newest change this page shows.
        "last_seq": events[0].seq if events else 0,
        "event_labels": event_labels(),
        "categories": [
            DataCategory(c).label for c in incident.data_categories if c in DataCategory.values
        ],
    }
    for name, form_class in SECTIONS.items():
        context[f"{name}_form"] = form_class(initial=initial)
    from frontend.views.legal import legal_context  # legal.py builds on this module

    context.update(legal_context(request, incident))
    context.update(extra)
    return context


@role_required
def incident_detail(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _incident(request, reference)
    return render(request, "frontend/incident_detail.html", workspace(request, incident))


def _refused(
    request: HttpRequest, incident: Incident, error: DomainError, **extra: Any
) -> HttpResponse:
    if isinstance(error, StaleVersion):
        message = _(
            "Someone else changed this incident while you worked. The page now shows their "
            "change; what you typed is still in the form: check it and send it again."
        )
    elif isinstance(error, RequirementsMissing):
        message = _("Still missing: %(fields)s") % {
            "fields": ", ".join(str(FIELD_LABELS.get(m, m)) for m in error.missing)
        }
    elif isinstance(error, InvalidChange):
        message = " ".join(
            f"{FIELD_LABELS.get(k, k)}: {' '.join(map(str, v))}"
            for k, v in _readable(error).items()
        )
    else:
        message = error.detail
    incident.refresh_from_db()
    context = workspace(request, incident, error=message, **extra)
    return render(request, "frontend/incident_detail.html", context, status=error.status)


@form_target("frontend:incident")
@role_required
def incident_edit(request: HttpRequest, reference: str, section: str) -> HttpResponse:
    incident = _incident(request, reference)
    if section not in SECTIONS:
        return error_page(request, 404, _("There is no such part of an incident."))
    if not may_edit_incidents(request.user):
        return error_page(request, 403, _("Your role may read but not change incidents."))
    form = SECTIONS[section](request.POST)
    if not form.is_valid():
        context = workspace(request, incident, **{f"{section}_form": form})
        return render(request, "frontend/incident_detail.html", context, status=400)
    changes = {k: v for k, v in form.cleaned_data.items() if k != "version"}
    try:
        update_incident(
            incident,
            actor=request.user,
            changes=changes,
            expected_version=form.cleaned_data["version"],
        )
    except InvalidChange as error:
        _add_errors(form, error)
        context = workspace(request, incident, **{f"{section}_form": form})
        return render(request, "frontend/incident_detail.html", context, status=400)
    except StaleVersion as error:
        kept = _rebased(form, error.current)
        return _refused(request, incident, error, **{f"{section}_form": kept})
    except DomainError as error:
        return _refused(request, incident, error)
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
    incident = _incident(request, reference)
    if name not in TRANSITIONS:
        return error_page(request, 404, _("There is no such step in the lifecycle."))
    form = forms.TransitionForm(request.POST)
    if not form.is_valid():
        context = workspace(request, incident, transition_form=form, failed_transition=name)
        return render(request, "frontend/incident_detail.html", context, status=400)
    try:
        apply_transition(
            incident,
            name,
            actor=request.user,
            payload=form.payload(name),
            expected_version=form.cleaned_data["version"],
        )
    except DomainError as error:
        return _refused(request, incident, error, transition_form=form, failed_transition=name)
    return redirect("frontend:incident", reference=incident.reference)


@form_target("frontend:incident")
@role_required
def note_add(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _incident(request, reference)
    try:
        ensure_may_add_notes(request.user)  # 403 before any complaint about the form
    except RoleForbidden as refused:
        return error_page(request, 403, refused.detail)
    form = forms.NoteForm(request.POST)
    if not form.is_valid():
        context = workspace(request, incident, note_form=form)
        return render(request, "frontend/incident_detail.html", context, status=400)
    add_note(incident, actor=request.user, text=form.cleaned_data["text"])
    return redirect(f"{reverse('frontend:incident', args=[incident.reference])}#timeline")


@form_target("frontend:incident")
@role_required
def incident_acknowledge(request: HttpRequest, reference: str) -> HttpResponse:
    """The web's Acknowledge, as in Telegram: whoever works an incident from the page can stop
    its escalation without a linked phone."""
    incident = _incident(request, reference)
    try:
        acknowledge(incident, request.user)
    except DomainError as error:
        return _refused(request, incident, error)
    return redirect("frontend:incident", reference=incident.reference)
