"""The notification decision (issue 18 part 1): whether the people a breach affected must be
told. An assessment (how sensitive each leaked category is, whether it was unintelligible, the
likely consequences, the measures taken) gives a proposal; legal records the decision with its
reason. ``high_risk`` on the incident follows the decision and decides, with the scope, whether
GDPR art. 34's obligation exists; a decision that the notice is not required waives it.

A later scope change that raises the risk marks the decision stale, in the same transaction as
the edit (``scope_changed``, called by ``update_incident``); the edit's event says so, and the
notifier reminds legal from that event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from core.roles import ADMIN, LEGAL, has_any_role
from incidents.changing import changing, check_version, save_changes, snapshot
from incidents.errors import InvalidChange, RoleForbidden
from incidents.events import append_event
from incidents.legal.obligations import sync_obligations, waive_subject_notice
from incidents.models import (
    CategorySensitivity,
    Consequence,
    Event,
    Exemption,
    Incident,
    NotificationDecision,
    Outcome,
    Sensitivity,
)
from incidents.models.notification import DEFAULT_SENSITIVITY, SENSITIVITY_RANK

# Consequences that make any leak a high risk to the people it is about.
SERIOUS = frozenset(
    {
        Consequence.FRAUD,
        Consequence.IDENTITY_THEFT,
        Consequence.FINANCIAL_LOSS,
        Consequence.ACCOUNT_TAKEOVER,
    }
)
MEASURES_MAX_LENGTH = 5000


@dataclass(frozen=True)
class Proposal:
    risk: str  # "" when nothing is known yet
    outcome: str
    exemption: str = ""


def sensitivities() -> dict[str, str]:
    """Each data category's sensitivity: the admin's table, the seeded defaults where a row is
    missing."""
    table = dict(CategorySensitivity.objects.values_list("category", "sensitivity"))
    return {
        str(category): table.get(category, str(level))
        for category, level in DEFAULT_SENSITIVITY.items()
    }


def propose(assessment: dict[str, Any]) -> Proposal:
    """What the assessment suggests. Low risk: no notice needed. Every leaked category
    unintelligible: the art. 34(3)(a) exemption. High risk (a highly sensitive category, or a
    serious consequence): notify. Medium: legal's judgement."""
    categories = assessment.get("categories") or []
    if not categories:
        return Proposal("", Outcome.UNDECIDED)
    risk = max((c["sensitivity"] for c in categories), key=SENSITIVITY_RANK.__getitem__)
    if set(assessment.get("consequences") or []) & SERIOUS:
        risk = Sensitivity.HIGH
    if risk == Sensitivity.LOW or assessment.get("subjects") == 0:
        return Proposal(risk, Outcome.NOT_REQUIRED, Exemption.LOW_RISK)
    if all(c["unintelligible"] for c in categories):
        return Proposal(risk, Outcome.NOT_REQUIRED, Exemption.UNINTELLIGIBLE)
    if risk == Sensitivity.HIGH:
        return Proposal(risk, Outcome.NOTIFY)
    return Proposal(risk, Outcome.UNDECIDED)


def assessment_for(
    incident: Incident, given: dict[str, Any] | None = None, *, base: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The assessment over the incident's current scope: its data categories (each with the
    sensitivity and unintelligibility ``given``, else as ``base`` had it, else the defaults) and
    its affected-people estimate. InvalidChange for a category outside the scope."""
    given, base = given or {}, base or {}
    scope = list(incident.data_categories or [])
    entries = {c["category"]: c for c in base.get("categories") or []}
    outside = [c["category"] for c in given.get("categories") or [] if c["category"] not in scope]
    if outside:
        message = _("Not among the incident's data categories: %(names)s.")
        raise InvalidChange({"categories": [message % {"names": ", ".join(outside)}]})
    entries.update({c["category"]: c for c in given.get("categories") or []})
    defaults = sensitivities()
    categories = [
        {
            "category": category,
            "sensitivity": entries.get(category, {}).get("sensitivity") or defaults[category],
            "unintelligible": bool(entries.get(category, {}).get("unintelligible", False)),
        }
        for category in scope
    ]
    return {
        "categories": categories,
        "consequences": sorted(set(given.get("consequences", base.get("consequences")) or [])),
        "subjects": incident.affected_subjects_estimate,
        "measures": given.get("measures", base.get("measures", "")),
    }


def high_risk(decision: NotificationDecision) -> bool:
    """The incident is at high risk to people when legal decided to tell them, or decided a
    notice is not required on one of art. 34(3)'s grounds (which presuppose a high risk)."""
    if decision.outcome == Outcome.NOTIFY:
        return True
    return decision.outcome == Outcome.NOT_REQUIRED and decision.exemption != Exemption.LOW_RISK


def may_decide(user: Any) -> bool:
    return has_any_role(user, {LEGAL, ADMIN})


def ensure_may_decide(user: Any) -> None:
    """RoleForbidden unless the user may record the decision (callers may check first)."""
    if not may_decide(user):
        raise RoleForbidden(_("Only legal and admins decide on telling the people affected."))


def decision_of(incident: Incident) -> NotificationDecision:
    """The incident's decision, or an unsaved one over its current scope (nothing decided)."""
    found = NotificationDecision.objects.filter(incident=incident).select_related("decided_by")
    decision = found.first()
    if decision is None:
        decision = NotificationDecision(incident=incident, version=0)
        decision.assessment = assessment_for(incident)
        _propose(decision)
    return decision


def record_decision(
    target: Incident | str,
    *,
    actor: Any,
    outcome: str,
    exemption: str = "",
    reason: str = "",
    assessment: dict[str, Any] | None = None,
    expected_version: int | None = None,
) -> tuple[NotificationDecision, Event]:
    """Legal records the assessment and the decision (``expected_version``: the decision's
    version, 0 before the first). One event; the incident's ``high_risk`` follows, its legal
    deadlines are brought up to date, and "not required" waives art. 34's."""
    ensure_may_decide(actor)
    _check_outcome(outcome, exemption, reason)
    with changing(target) as incident:
        decision = NotificationDecision.objects.filter(incident=incident).first()
        decision = decision or NotificationDecision(incident=incident, version=0)
        check_version(decision, expected_version)
        decision.assessment = assessment_for(incident, assessment, base=decision.assessment)
        _propose(decision)
        decision.outcome, decision.reason = outcome, reason
        decision.exemption = exemption if outcome == Outcome.NOT_REQUIRED else ""
        decision.decided_by, decision.decided_at = actor, timezone.now()
        decision.stale, decision.stale_since = False, None
        decision.version += 1
        decision.save()
        obligations = _follow(incident, decision)
        data = {
            "outcome": decision.outcome,
            "exemption": decision.exemption,
            "risk": decision.risk,
            "proposed": decision.proposed,
            "reason": decision.reason,
            "high_risk": incident.high_risk,
            **({"obligations": obligations} if obligations else {}),
        }
        event = append_event(incident, "notification.decided", actor=actor, data=data)
        if decision.outcome == Outcome.NOT_REQUIRED:
            note = _("Notice to the people affected not required: %(reason)s")
            waive_subject_notice(incident, actor=actor, reason=note % {"reason": decision.reason})
    return decision, event


def scope_changed(incident: Incident) -> dict[str, Any]:
    """After an edit of the locked incident's scope: the decision's assessment follows the new
    scope, and a decision whose risk the change raised becomes stale. Returns what the edit's
    event should say ({"notification": "stale"} or nothing)."""
    decision = NotificationDecision.objects.filter(incident=incident).first()
    if decision is None:
        return {}
    before = snapshot(decision)
    decided_risk = decision.risk
    decision.assessment = assessment_for(incident, base=decision.assessment)
    _propose(decision)
    raised = SENSITIVITY_RANK.get(decision.risk, -1) > SENSITIVITY_RANK.get(decided_risk, -1)
    decided = decision.outcome != Outcome.UNDECIDED
    became_stale = decided and raised and not decision.stale
    if became_stale:
        decision.stale, decision.stale_since = True, timezone.now()
    if snapshot(decision) != before:
        save_changes(decision, before)
    return {"notification": "stale"} if became_stale else {}


def _propose(decision: NotificationDecision) -> None:
    proposal = propose(decision.assessment)
    decision.risk = proposal.risk
    decision.proposed, decision.proposed_exemption = proposal.outcome, proposal.exemption


def _follow(incident: Incident, decision: NotificationDecision) -> dict[str, Any]:
    """The incident's ``high_risk`` set from the decision, its deadlines synced."""
    wanted = high_risk(decision)
    if incident.high_risk == wanted:
        return {}
    before = snapshot(incident)
    incident.high_risk = wanted
    save_changes(incident, before)
    return sync_obligations(incident)


def _check_outcome(outcome: str, exemption: str, reason: str) -> None:
    errors: dict[str, list[str]] = {}
    if outcome not in Outcome.values:
        errors["outcome"] = [_("Choose notify, not_required or undecided.")]
    if outcome == Outcome.NOT_REQUIRED and exemption not in Exemption.values:
        errors["exemption"] = [_("Say why a notice is not required.")]
    if outcome != Outcome.NOT_REQUIRED and exemption:
        errors["exemption"] = [_("Only a decision that a notice is not required has one.")]
    if outcome in (Outcome.NOTIFY, Outcome.NOT_REQUIRED) and not reason.strip():
        errors["reason"] = [_("A decision needs its reason.")]
    if errors:
        raise InvalidChange(errors)
