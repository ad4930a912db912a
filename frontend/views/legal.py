"""The legal part of the incident page: referrals, obligations (deadlines) and evidence.

Each write calls one domain function of the legal workspace (incidents.legal.referrals,
incidents.legal.obligations, incidents.legal.evidence); errors come back on the incident page.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _

from frontend import forms
from frontend.views.common import error_page, form_target, role_required
from frontend.views.workspace import RECORD_MACHINES, add_errors, incident_for, page, refused
from incidents.errors import DomainError, InvalidChange
from incidents.legal.evidence import store_evidence
from incidents.legal.referrals import create_referral
from incidents.models import Incident


def _back(incident: Incident) -> HttpResponse:
    return redirect("frontend:incident", reference=incident.reference)


@form_target("frontend:incident")
@role_required
def referral_create(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_for(request, reference)
    form = forms.ReferralForm(request.POST)
    if not form.is_valid():
        return page(request, incident, 400, referral_form=form)
    try:
        create_referral(incident, actor=request.user, data=form.cleaned_data)
    except InvalidChange as error:  # an authority of kind "other" without its name
        add_errors(form, error)
        return page(request, incident, 400, referral_form=form)
    except DomainError as error:
        return refused(request, incident, error, referral_form=form)
    return _back(incident)


@form_target("frontend:incident")
@role_required
def record_transition(
    request: HttpRequest, reference: str, kind: str, pk: int, name: str
) -> HttpResponse:
    if kind not in RECORD_MACHINES:
        return error_page(request, 404, _("There is no such record."))
    machine = RECORD_MACHINES[kind]
    incident = incident_for(request, reference)
    record = get_object_or_404(machine.model, pk=pk, incident=incident)
    form = forms.transition_form(machine)(request.POST, evidence=incident.evidence.all())
    # Back to the page in every refusal (a reload never re-posts), said in its error summary;
    # the forms carry each record's current version, the typed note or outcome is kept.
    kept = {"referral_action_form" if kind == "referrals" else "obligation_form": form}
    if name not in machine.names:
        return page(request, incident, 400, error=_("The form was incomplete; try again."))
    if not form.is_valid():  # a proof from another incident, a version missing
        return page(request, incident, 400, **kept)
    try:
        form.run(record, name, request.user)
    except DomainError as error:
        return refused(request, incident, error, **kept)
    return _back(incident)


@form_target("frontend:incident")
@role_required
def evidence_upload(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_for(request, reference)
    form = forms.EvidenceForm(request.POST, request.FILES)
    if not form.is_valid():
        return page(request, incident, 400, evidence_form=form)
    try:
        store_evidence(
            incident,
            actor=request.user,
            upload=form.cleaned_data["file"],
            description=form.cleaned_data["description"],
        )
    except DomainError as error:
        return refused(request, incident, error)
    return _back(incident)
