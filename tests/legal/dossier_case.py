"""The README walkthrough's breach, carried on to where a dossier has something in every
section: built through the domain functions (the walkthrough drives the same ones over HTTP),
with evidence, a referral acknowledged with its case number and contact, obligations met (one
with evidence as proof), the decision to tell the people, and a note."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from incidents.affected.decision import record_decision
from incidents.legal.evidence import store_evidence
from incidents.legal.obligations import apply_obligation_transition, seed_rules
from incidents.legal.referrals import apply_referral_transition, hand_over_evidence
from incidents.lifecycle import apply_transition, create_incident, update_incident
from incidents.models import Incident
from incidents.notes import add_note
from tests.conftest import complete_required_tasks

TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))
TITLE = "Order backups readable from the internet"
NOTE = "Bucket policy allowed public reads since the 2026-11-20 deploy."
RESTORATION = "Bucket made private, keys rotated, access logs preserved."
CASE_NUMBER = "FATA-1405-0192"
CONTACT = "Capt. Rahimi, +98 21 8888 1234"
LOG_NAME = "bucket-access-log.csv"
POLICY_NAME = "سیاست-سطل.json"


def walkthrough_incident(users: dict[str, User], *, title: str = TITLE) -> Incident:
    seed_rules()
    engineer, legal = users["engineer"], users["legal"]
    incident, _ = create_incident(
        actor=engineer,
        data={
            "title": title,
            "severity": "critical",
            "detected_at": dt.datetime(2026, 11, 24, 2, 10, tzinfo=TEHRAN),
        },
    )
    incident, _ = apply_transition(incident, "start_scoping", actor=engineer, payload={})
    incident, _ = update_incident(
        incident,
        actor=engineer,
        changes={
            "attack_vector": "misconfiguration",
            "affected_systems": [{"name": "backup-bucket", "hosting": "provider"}],
            "data_categories": ["identity", "contact", "postal_address"],
            "affected_subjects_estimate": 1200,
        },
    )
    add_note(incident, actor=engineer, text=NOTE)
    log, _ = store_evidence(
        incident,
        actor=engineer,
        upload=SimpleUploadedFile(LOG_NAME, b"time,ip,key\n" * 4000),
        description="The bucket's access log, exported from the provider's console.",
        note="exported by the on-call engineer",
    )
    policy, _ = store_evidence(
        incident,
        actor=engineer,
        upload=SimpleUploadedFile(POLICY_NAME, b'{"Statement": [{"Effect": "Allow"}]}\n'),
    )
    # The runbook's required tasks, the fix confirmed by a second person (the admin).
    complete_required_tasks(incident, engineer, second=users["admin"])
    incident, _ = apply_transition(incident, "start_restoration", actor=engineer, payload={})
    complete_required_tasks(incident, engineer, second=users["admin"])
    incident, _ = apply_transition(
        incident, "mark_restored", actor=engineer, payload={"restoration_summary": RESTORATION}
    )
    incident, _ = apply_transition(
        incident,
        "refer",
        actor=legal,
        payload={
            "authority": "cyber_police",
            "authority_name": "FATA",
            "submitted_at": dt.datetime(2026, 11, 24, 9, 30, tzinfo=dt.UTC),
            "case_number": "",
        },
    )
    referral = incident.referrals.get()
    referral.contact = CONTACT
    referral.save(update_fields=["contact"])
    referral, _ = apply_referral_transition(
        referral, "acknowledge", actor=legal, payload={"case_number": CASE_NUMBER}
    )
    hand_over_evidence(referral, actor=legal, evidence_ids=[log.pk], note="handed on a USB stick")
    record_decision(
        incident, actor=legal, outcome="notify", reason="Names and addresses of 1,200 customers."
    )
    for obligation in incident.obligations.filter(state="open"):
        payload: dict[str, Any] = {"note": "Filed with the cyber police."}
        if obligation.step_key == "referral_filed":
            payload["document"] = log
        apply_obligation_transition(obligation, "fulfil", actor=legal, payload=payload)
    return Incident.objects.get(pk=incident.pk)
