"""The dossier's JSON export (incident.json in the ZIP): the PDF's facts for machines. Its keys
and their order are the file's format, so each section's fields are listed once, here."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from incidents.legal.dossier_parts import CampaignRecord, DossierData, NoticeRecord
from incidents.legal.review_document import export_review
from incidents.models import (
    EVENT_BODY,
    EVIDENCE_FILE,
    FACTS,
    REFERRAL_RECORD,
    SCOPE,
    STAMPS,
    VERDICT,
    CustodyEntry,
    Event,
    Evidence,
    Obligation,
    Referral,
)

INCIDENT_FIELDS = (
    "reference",
    "state",
    *(f for f in FACTS if f != "commander"),
    *STAMPS,
    *SCOPE,
    "high_risk",
    "restoration_summary",
    "no_referral_reason",
)
EVENT_FIELDS = ("seq", "kind", *EVENT_BODY)
REFERRAL_FIELDS = REFERRAL_RECORD
OBLIGATION_FIELDS = (
    "id",
    "step_key",
    "step_name",
    "recipient",
    "due_at",
    "state",
    "note",
    "decided_at",
    "document_id",
)
EVIDENCE_FIELDS = ("id", *EVIDENCE_FILE, "uploaded_at", "integrity_failed_at")
CUSTODY_FIELDS = ("at", "action", "role", "note", "referral_id")
VERIFICATION_FIELDS = (*VERDICT, "finished_at")
ACCESS_FIELDS = ("at", "kind", "target", "username", "address", "user_agent")
# The notice section: the decision, and each campaign's texts and counts. Never a person: the
# register is counted, and a campaign's texts are legal's words with the letter's variables
# unfilled (the letters as sent are proven by each notice's digest, kept in the database).
DECISION_FIELDS = (
    "outcome",
    "exemption",
    "reason",
    "risk",
    "proposed",
    "proposed_exemption",
    "assessment",
    "decided_at",
    "stale",
    "stale_since",
    "version",
)
CAMPAIGN_FIELDS = (
    "id",
    "state",
    "subject",
    "created_at",
    "approved_at",
    "started_at",
    "finished_at",
    "cancelled_at",
    "cancelled_reason",
)


def _fields(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


def _event(event: Event) -> dict[str, Any]:
    return {**_fields(event, EVENT_FIELDS), "actor": event.actor_username}


def _referral(referral: Referral) -> dict[str, Any]:
    handed = [e.pk for e in referral.evidence.all()]
    return {**_fields(referral, REFERRAL_FIELDS), "evidence": handed}


def _obligation(obligation: Obligation) -> dict[str, Any]:
    return {
        **_fields(obligation, OBLIGATION_FIELDS),
        "rule": obligation.rule.code,
        "company_policy": obligation.rule.is_policy,
        "decided_by": obligation.decided_by.username if obligation.decided_by else None,
    }


def _custody(entry: CustodyEntry) -> dict[str, Any]:
    return {**_fields(entry, CUSTODY_FIELDS), "actor": entry.actor_username}


def _evidence(evidence: Evidence) -> dict[str, Any]:
    return {
        **_fields(evidence, EVIDENCE_FIELDS),
        "uploaded_by": evidence.uploaded_by.username,
        "custody": [_custody(c) for c in evidence.custody.all()],
    }


def _campaign(record: CampaignRecord) -> dict[str, Any]:
    campaign = record.campaign
    custom = record.source == "texts"
    return {
        **_fields(campaign, CAMPAIGN_FIELDS),
        "drafted_by": campaign.drafted_by.username,
        "approved_by": campaign.approved_by.username if campaign.approved_by else None,
        "source": record.source,
        "sha256": record.sha256,
        # The seeded templates' letter is the same for every campaign that took it; one that
        # legal wrote is kept as written.
        "body": campaign.body if custom else None,
        "counts": record.counts,
    }


def _notices(record: NoticeRecord) -> dict[str, Any]:
    decision = record.decision
    return {
        "decision": {
            **_fields(decision, DECISION_FIELDS),
            "decided_by": decision.decided_by.username if decision.decided_by else None,
        },
        "register": record.register,
        "campaigns": [_campaign(c) for c in record.campaigns],
        "counts": record.totals,
    }


def export(data: DossierData) -> dict[str, Any]:
    """The machine-readable twin of the PDF (times in UTC, ISO 8601)."""
    return {
        "incident": _fields(data.incident, INCIDENT_FIELDS),
        "timeline": [_event(e) for e in data.events],
        "referrals": [_referral(r) for r in data.referrals],
        "obligations": [_obligation(o) for o in data.obligations],
        "notice_to_affected_people": _notices(data.notices),
        "post_incident_review": export_review(data.review),
        "evidence": [_evidence(e) for e in data.evidence],
        "access_log": [_fields(a, ACCESS_FIELDS) for a in data.access_records],
        "verification": _fields(data.verification, VERIFICATION_FIELDS),
    }


def export_json(data: DossierData) -> bytes:
    body = export(data)
    return json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()
