"""What a document says about the record (issue 19, section 2): the incident's facts and scope,
the notification decision and the notices counted, referrals, legal deadlines, evidence with
its SHA-256, the order in which things happened; gathered in a handful of queries as plain JSON
(``facts``), so an issued document keeps exactly what it showed, and a GDPR art. 33(4)
supplement can list what changed since the last one (``changes``).

Counts and legal's own words only: no person of the affected-people register is ever named."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from incidents.affected.campaigns import tally
from incidents.affected.decision import decision_of
from incidents.affected.register import counts as register_counts
from incidents.events import to_json_safe
from incidents.models import Incident, Notice

# The incident's columns a document quotes.
INCIDENT_FIELDS = (
    "reference",
    "title",
    "summary",
    "severity",
    "state",
    "detected_at",
    "aware_at",
    "scoping_started_at",
    "restoring_started_at",
    "restored_at",
    "referred_at",
    "closed_at",
    "attack_vector",
    "source_details",
    "data_categories",
    "affected_systems",
    "affected_subjects_estimate",
    "restoration_summary",
    "high_risk",
)
# The events that make the order of what happened (the complaint letter's facts, the brief):
# the lifecycle, referrals filed, evidence secured, the decision and notices, notes of the
# investigation. Edits and reads are left out.
CHRONOLOGY_KINDS = (
    "created",
    "start_scoping",
    "start_restoration",
    "mark_restored",
    "refer",
    "close",
    "note",
    "referral.submit",
    "referral.acknowledge",
    "evidence.uploaded",
    "notification.decided",
    "campaign.finish",
    "document.issued",
)
CHRONOLOGY_MAX = 200
# What a supplement compares (art. 33(3)'s items, as the record holds them), in this order.
TRACKED = (
    "incident.attack_vector",
    "incident.source_details",
    "incident.affected_systems",
    "incident.data_categories",
    "incident.affected_subjects_estimate",
    "register.people",
    "decision.outcome",
    "decision.consequences",
    "decision.measures",
    "incident.restoration_summary",
    "incident.state",
    "notices.sent",
    "referrals",
    "evidence",
)


def gather_facts(incident: Incident) -> dict[str, Any]:
    """The record as a document shows it, JSON-safe (times as ISO 8601 in UTC)."""
    decision = decision_of(incident)
    return to_json_safe(
        {
            "gathered_at": timezone.now(),
            "incident": {name: getattr(incident, name) for name in INCIDENT_FIELDS},
            "decision": {
                "outcome": decision.outcome,
                "exemption": decision.exemption,
                "reason": decision.reason,
                "risk": decision.risk,
                "consequences": decision.assessment.get("consequences") or [],
                "measures": decision.assessment.get("measures") or "",
                "decided_at": decision.decided_at,
            },
            "register": register_counts(incident),
            "notices": _notices(incident),
            "referrals": _referrals(incident),
            "obligations": _obligations(incident),
            "evidence": _evidence(incident),
            "chronology": _chronology(incident),
            "contact": settings.DPO_CONTACT,
        }
    )


def _notices(incident: Incident) -> dict[str, Any]:
    """Every campaign's notices counted together, and when the first and last went out."""
    ids = list(incident.notice_campaigns.values_list("pk", flat=True))
    total: dict[str, Any] = {"campaigns": len(ids), "planned": 0}
    total.update(dict.fromkeys((s for s, _label in Notice.STATUSES), 0))
    total["first_sent_at"] = total["last_sent_at"] = None
    for counts in tally(ids).values():
        for key in ("planned", *(s for s, _label in Notice.STATUSES)):
            total[key] += counts[key]
        for key, pick in (("first_sent_at", min), ("last_sent_at", max)):
            if counts[key] is not None:
                total[key] = counts[key] if total[key] is None else pick(total[key], counts[key])
    return total


def _referrals(incident: Incident) -> list[dict[str, Any]]:
    return list(
        incident.referrals.order_by("created_at", "id").values(
            "id", "authority", "authority_name", "state", "case_number", "submitted_at"
        )
    )


def _obligations(incident: Incident) -> list[dict[str, Any]]:
    rows = incident.obligations.select_related("rule").order_by("due_at", "id")
    return [
        {
            "id": o.pk,
            "rule": o.rule.code,
            "company_policy": o.rule.is_policy,
            "step": o.step_key,
            "step_name": o.step_name,
            "recipient": o.recipient,
            "due_at": o.due_at,
            "state": o.state,
            "decided_at": o.decided_at,
        }
        for o in rows
    ]


def _evidence(incident: Incident) -> list[dict[str, Any]]:
    rows = incident.evidence.order_by("uploaded_at", "id")
    return [
        {
            "id": e.pk,
            "name": e.original_name,
            "size": e.size,
            "sha256": e.sha256,
            "description": e.description,
            "uploaded_at": e.uploaded_at,
        }
        for e in rows
    ]


def _chronology(incident: Incident) -> list[dict[str, Any]]:
    """What happened, oldest first: the lifecycle's steps and the investigation's notes."""
    events = incident.events.filter(kind__in=CHRONOLOGY_KINDS).order_by("seq")
    rows = events.values("seq", "kind", "actor_username", "created_at", "to_state", "data")
    return [
        {
            "seq": e["seq"],
            "kind": e["kind"],
            "actor": e["actor_username"],
            "at": e["created_at"],
            "text": _said(e["kind"], e["data"]),
        }
        for e in rows[:CHRONOLOGY_MAX]
    ]


def _said(kind: str, data: dict[str, Any]) -> str:
    """The words an event carries that a reader of the document needs: a note's text, the
    evidence's file name, a referral's authority."""
    if kind == "note":
        return str(data.get("text", ""))
    if kind == "evidence.uploaded":
        return str((data.get("evidence") or {}).get("name", ""))
    if kind == "referral.submit":
        return str((data.get("referral") or {}).get("authority", ""))
    return ""


def value_at(facts: dict[str, Any], path: str) -> Any:
    """A tracked value of ``facts``: "incident.state", or "referrals" / "evidence" reduced to
    what a regulator would be told changed (an authority's state and case number; a file's
    hash)."""
    if path == "referrals":
        return [
            {k: r.get(k) for k in ("authority", "state", "case_number")}
            for r in facts.get("referrals", [])
        ]
    if path == "evidence":
        return [
            {"name": e.get("name"), "sha256": e.get("sha256")} for e in facts.get("evidence", [])
        ]
    group, _dot, name = path.partition(".")
    return (facts.get(group) or {}).get(name)


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What a supplement reports: each tracked value that differs, ``{key, from, to}``."""
    found = []
    for path in TRACKED:
        old, new = value_at(before, path), value_at(after, path)
        if old != new:
            found.append({"key": path, "from": old, "to": new})
    return found
