"""The incident page's content (the workspace), shared by every view that shows it: the page
itself, and each form's view when a form comes back refused. Views import this module; it
imports no view."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone, translation

from frontend import charts, forms, timeline_words
from frontend.views import flash_forms, refusals
from frontend.views.affected_parts import affected_part
from frontend.views.document_parts import documents_part
from frontend.views.refusals import readable
from frontend.views.review_parts import review_part
from frontend.views.task_parts import tasks_part
from frontend.views.update_parts import status_update_part
from incidents.acknowledgements import acknowledge_offered, acknowledged_by
from incidents.affected.decision import decision_of, may_decide
from incidents.choices import TERMINAL_STATES, DataCategory
from incidents.errors import (
    DomainError,
    InvalidChange,
)
from incidents.labels import (
    FIELD_LABELS,
    RECORD_TRANSITION_LABELS,
    TRANSITION_LABELS,
    event_labels,
    label,
)
from incidents.legal.evidence import may_download, may_upload
from incidents.legal.obligations import OBLIGATION
from incidents.legal.referrals import REFERRAL, may_write_referrals
from incidents.lifecycle import EDITABLE_FIELDS, INCIDENT, may_edit_incidents, transition_options
from incidents.machines import Machine, options
from incidents.models import Consequence, Incident, Sensitivity
from incidents.need_to_know import may_restrict
from incidents.notes import may_add_notes

SECTIONS = {
    "summary": forms.SummaryForm,
    "timing": forms.TimingForm,
    "scope": forms.ScopeForm,
    "restoration": forms.RestorationForm,
}
# The record machines the page drives, by the URL's kind.
RECORD_MACHINES = {"referrals": REFERRAL, "obligations": OBLIGATION}


def incident_for(request: HttpRequest, reference: str) -> Incident:
    visible = Incident.objects.visible_to(request.user).with_people()
    return get_object_or_404(visible, reference=reference)


def add_errors(form: Any, error: InvalidChange) -> None:
    """Show a domain refusal on the fields it names, with what the person typed kept."""
    for field, messages in readable(error).items():
        form.add_error(field if field in form.fields else None, messages)


def _steps(incident: Incident, user: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": o.name,
            "label": TRANSITION_LABELS[o.name],
            "target": o.target,
            "missing": [FIELD_LABELS.get(m, m) for m in o.missing],
            # Close from "referred" takes nothing; from "restored" it needs the reason.
            "fields": o.accepts if o.takes_payload else (),
        }
        for o in transition_options(incident, user)
    ]


def _actions(machine: Machine, record: Any, user: Any) -> list[dict[str, Any]]:
    """A record's transitions this user may run now, in the order the record moves."""
    return [
        {"name": o.name, "label": RECORD_TRANSITION_LABELS.get(o.name, o.name), "fields": o.accepts}
        for o in options(machine, record, user)
        if not o.missing
    ]


def _legal(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    user = request.user
    evidence = incident.evidence.all()
    return {
        "referral_rows": [
            {"record": r, "actions": _actions(REFERRAL, r, user)} for r in incident.referrals.all()
        ],
        "obligation_rows": [
            {"record": o, "actions": _actions(OBLIGATION, o, user)}
            for o in incident.obligations.select_related("rule").order_by("due_at", "id")
        ],
        "may_refer": may_write_referrals(user),
        "referral_form": forms.ReferralForm(),
        "referral_action_form": forms.transition_form(REFERRAL)(),
        "obligation_form": forms.transition_form(OBLIGATION)(evidence=evidence),
        "now": timezone.now(),
        "evidence": list(incident.evidence.order_by("-id").prefetch_related("custody")),
        "may_upload": may_upload(user),
        "may_download": may_download(user),
        "evidence_form": forms.EvidenceForm(),
    }


def _access(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    """Who reads the incident, and the control for those who may change it."""
    members = sorted(u.get_username() for u in incident.members.all())
    initial = {
        "version": incident.version,
        "restricted": incident.restricted,
        "members": " ".join(members),
    }
    return {
        "members": members,
        "may_restrict": may_restrict(request.user, incident),
        "restriction_form": forms.RestrictionForm(initial=initial),
    }


def _notification(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    """The decision on telling the people affected, and legal's form for it."""
    decision = decision_of(incident)
    assessed = decision.assessment.get("categories") or []
    initial = {
        "version": decision.version,
        "outcome": decision.outcome,
        "exemption": decision.exemption,
        "reason": decision.reason,
        "unintelligible": [c["category"] for c in assessed if c["unintelligible"]],
        "consequences": decision.assessment.get("consequences") or [],
        "measures": decision.assessment.get("measures") or "",
    }
    return {
        "decision": decision,
        "decision_rows": [
            {
                "category": label(DataCategory, c["category"]),
                "sensitivity": label(Sensitivity, c["sensitivity"]),
                "unintelligible": c["unintelligible"],
            }
            for c in assessed
        ],
        "decision_consequences": [
            label(Consequence, c) for c in decision.assessment.get("consequences") or []
        ],
        "may_decide": may_decide(request.user),
        "decision_form": forms.DecisionForm(initial=initial, categories=incident.data_categories),
    }


def workspace(request: HttpRequest, incident: Incident, **extra: Any) -> dict[str, Any]:
    """Everything the incident page shows; ``extra`` replaces a form that failed to validate."""
    may_edit = may_edit_incidents(request.user) and incident.state not in TERMINAL_STATES
    # The section forms start from the stored values of the fields a person may edit.
    initial = {"version": incident.version, **{f: getattr(incident, f) for f in EDITABLE_FIELDS}}
    acknowledgers = acknowledged_by(incident)
    events = timeline_words.worded(incident, incident.events.order_by("-seq")[:200])
    context = {
        "incident": incident,
        "may_edit": may_edit,
        "options": _steps(incident, request.user),
        "transition_form": forms.transition_form(INCIDENT)(initial={"version": incident.version}),
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
        **{f"{name}_form": form_class(initial=initial) for name, form_class in SECTIONS.items()},
        **_legal(request, incident),
        **_access(request, incident),
        **_notification(request, incident),
        **affected_part(request, incident),
        **documents_part(request, incident),
        **status_update_part(request, incident),
        **review_part(request, incident),
        **tasks_part(request, incident),
    }
    context.update(extra)
    return context


def page(request: HttpRequest, incident: Incident, status: int = 200, **extra: Any) -> HttpResponse:
    """The incident page, with ``extra`` in place of what a refused form should show again.
    A form's POST is answered with a redirect to the page (flash_forms.py), so a reload never
    sends the form again; the page then shows what was kept, once."""
    # A refusal by role stays a 403 where it was asked: there is nothing to correct and send.
    if request.method == "POST" and status != 403:
        return flash_forms.back_to_page(request, incident.reference, extra)
    path = reverse("frontend:incident", args=[incident.reference])
    values = flash_forms.kept_values(request, path)
    context = flash_forms.show_kept(request, path, workspace(request, incident, **values))
    return render(request, "frontend/incident_detail.html", context, status=status)


def refused(
    request: HttpRequest, incident: Incident, error: DomainError, **extra: Any
) -> HttpResponse:
    """The page again, fresh from the database, saying why the change was refused."""
    message = refusals.message(error)
    incident.refresh_from_db()
    return page(request, incident, error.status, error=message, **extra)


def form_refused(
    request: HttpRequest, incident: Incident, form: Any, error: DomainError | None, **kept: Any
) -> HttpResponse:
    """The page again with the refused ``form`` in its place (``kept``: the context keys that
    hold it): its own errors (``error`` None), the domain's on its fields (InvalidChange), or
    the domain's refusal said at the top."""
    if error is None:
        return page(request, incident, 400, **kept)
    if isinstance(error, InvalidChange):
        add_errors(form, error)
        return page(request, incident, error.status, **kept)
    return refused(request, incident, error, **kept)
