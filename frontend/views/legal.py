"""The legal part of the incident page: referrals, obligations (deadlines) and evidence.

Each write calls one domain function of the legal workspace (incidents.referrals,
incidents.obligations, incidents.evidence); errors come back on the incident page.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from frontend import forms
from frontend.labels import RECORD_TRANSITION_LABELS
from frontend.views.common import error_page, form_target, role_required
from frontend.views.incidents import _incident, _refused, workspace
from incidents.errors import DomainError
from incidents.evidence import may_download, may_upload, store_evidence
from incidents.models import Incident, Obligation, Referral
from incidents.obligations import apply_obligation_transition
from incidents.record_transitions import allowed_names
from incidents.referrals import apply_referral_transition, create_referral, may_write_referrals


def _actions(record: Any, user: Any) -> list[dict[str, Any]]:
    # In the order a record moves (the labels' order), not alphabetical: Conclude came first.
    order = {name: i for i, name in enumerate(RECORD_TRANSITION_LABELS)}
    names = sorted(allowed_names(record, user), key=lambda n: order.get(n, len(order)))
    return [
        {
            "name": n,
            "label": RECORD_TRANSITION_LABELS.get(n, n),
            "fields": forms.RecordTransitionForm.FIELDS.get(n, ()),
        }
        for n in names
    ]


def legal_context(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    referrals = [
        {"record": r, "actions": _actions(r, request.user)} for r in incident.referrals.all()
    ]
    obligations = [
        {"record": o, "actions": _actions(o, request.user)}
        for o in incident.obligations.select_related("rule").order_by("due_at", "id")
    ]
    context: dict[str, Any] = {
        "referral_rows": referrals,
        "obligation_rows": obligations,
        "may_refer": may_write_referrals(request.user),
        "referral_form": forms.ReferralForm(),
        "record_form": forms.RecordTransitionForm(evidence=incident.evidence.all()),
        "now": timezone.now(),
        "evidence": list(incident.evidence.order_by("-id").prefetch_related("custody")),
        "may_upload": may_upload(request.user),
        "may_download": may_download(request.user),
        "evidence_form": forms.EvidenceForm(),
    }
    return context


def _back(incident: Incident) -> HttpResponse:
    return redirect("frontend:incident", reference=incident.reference)


@form_target("frontend:incident")
@role_required
def referral_create(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _incident(request, reference)
    form = forms.ReferralForm(request.POST)
    if not form.is_valid():
        context = workspace(request, incident, referral_form=form)
        return render(request, "frontend/incident_detail.html", context, status=400)
    try:
        create_referral(incident, actor=request.user, data=form.cleaned_data)
    except DomainError as error:
        return _refused(request, incident, error)
    return _back(incident)


@form_target("frontend:incident")
@role_required
def record_transition(
    request: HttpRequest, reference: str, kind: str, pk: int, name: str
) -> HttpResponse:
    runners = {
        "referrals": (Referral, apply_referral_transition),
        "obligations": (Obligation, apply_obligation_transition),
    }
    if kind not in runners:
        return error_page(request, 404, _("There is no such record."))
    incident = _incident(request, reference)
    model, run = runners[kind]
    record = get_object_or_404(model, pk=pk, incident=incident)
    form = forms.RecordTransitionForm(request.POST, evidence=incident.evidence.all())
    if not form.is_valid():
        return error_page(request, 400, _("The form was incomplete; reload and try again."))
    try:
        run(
            record,
            name,
            actor=request.user,
            payload=form.payload(name),
            expected_version=form.cleaned_data["version"],
        )
    except DomainError as error:
        # The forms carry each record's current version; the typed note or outcome is kept.
        return _refused(request, incident, error, record_form=form)
    return _back(incident)


@form_target("frontend:incident")
@role_required
def evidence_upload(request: HttpRequest, reference: str) -> HttpResponse:
    incident = _incident(request, reference)
    form = forms.EvidenceForm(request.POST, request.FILES)
    if not form.is_valid():
        context = workspace(request, incident, evidence_form=form)
        return render(request, "frontend/incident_detail.html", context, status=400)
    try:
        store_evidence(
            incident,
            actor=request.user,
            upload=form.cleaned_data["file"],
            description=form.cleaned_data["description"],
        )
    except DomainError as error:
        return _refused(request, incident, error)
    return _back(incident)
