"""Legal deadlines: which rules a scope triggers, due times from aware_at (and when it is
corrected), fulfil / waive, closing blocked by open obligations, and reminder stages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from incidents.legal.obligations import mark_reminded, reminders_due
from incidents.lifecycle import apply_transition, update_incident
from incidents.models import Event, JurisdictionRule, Obligation
from tests.conftest import finish_review

pytestmark = pytest.mark.django_db

AWARE = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def _steps(incident: Any) -> dict[str, dt.datetime]:
    return {f"{o.rule.code}/{o.step_key}": o.due_at for o in incident.obligations.all()}


def test_scope_with_personal_data_triggers_gdpr33_and_kalak_but_not_disabled_nis2(
    rules, incident_in
):
    incident = incident_in("restoring", aware_at=AWARE, detected_at=AWARE)
    assert _steps(incident) == {
        "GDPR-33/notify_authority": AWARE + dt.timedelta(hours=72),
        "KALAK/referral_decision": AWARE + dt.timedelta(hours=24),
        "KALAK/referral_filed": AWARE + dt.timedelta(hours=72),
    }
    created = Event.objects.filter(incident=incident, kind="updated").first()
    assert {o["rule"] for o in created.data["obligations"]["created"]} == {"GDPR-33", "KALAK"}


def test_no_personal_data_means_no_obligations(rules, incident_in):
    assert incident_in("scoping").obligations.count() == 0


def test_high_risk_is_not_edited_but_follows_the_notification_decision(rules, api, incident_in):
    incident = incident_in("restoring")
    url = f"/api/incidents/{incident.reference}/"
    refused = api("legal").patch(url, {"high_risk": True}, format="json")
    assert refused.status_code == 400 and "notification-decision" in refused.json()["high_risk"][0]
    decided = api("legal").put(
        url + "notification-decision/",
        {"outcome": "notify", "reason": "Names and mobiles of 120 customers."},
        format="json",
    )
    assert decided.status_code == 200, decided.json()
    assert api("legal").get(url).json()["high_risk"] is True
    assert "GDPR-34/notify_subjects" in _steps(incident)


def test_enabling_nis2_and_min_subjects_are_respected(rules, incident_in, engineer):
    JurisdictionRule.objects.filter(code="NIS2").update(enabled=True, min_subjects=1000)
    incident = incident_in("restoring")  # 120 subjects
    assert not any(k.startswith("NIS2") for k in _steps(incident))
    update_incident(incident, actor=engineer, changes={"affected_subjects_estimate": 5000})
    nis2 = {k: v for k, v in _steps(incident).items() if k.startswith("NIS2")}
    assert nis2["NIS2/final_report"] - incident.aware_at == dt.timedelta(days=30)
    assert len(nis2) == 3


def test_corrected_aware_at_moves_open_deadlines_and_records_it(rules, incident_in, legal):
    incident = incident_in("restoring", aware_at=AWARE, detected_at=AWARE)
    done = incident.obligations.get(step_key="referral_decision")
    apply_obligation(done, "fulfil", legal, note="Decided to refer.")
    earlier = AWARE - dt.timedelta(hours=5)
    incident, event = update_incident(
        incident, actor=legal, changes={"aware_at": earlier, "detected_at": earlier}
    )
    steps = _steps(incident)
    assert steps["GDPR-33/notify_authority"] == earlier + dt.timedelta(hours=72)
    # A fulfilled deadline is history: it keeps the due time it was met against.
    assert steps["KALAK/referral_decision"] == AWARE + dt.timedelta(hours=24)
    moved = event.data["obligations"]["moved"]
    assert {m["step"] for m in moved} == {"notify_authority", "referral_filed"}


def apply_obligation(obligation: Obligation, name: str, actor: Any, **payload: Any) -> Any:
    from incidents.legal.obligations import apply_obligation_transition

    return apply_obligation_transition(obligation, name, actor=actor, payload=payload)[0]


def test_fulfil_needs_a_note_and_records_who_and_when(rules, api, incident_in):
    obligation = incident_in("restoring").obligations.first()
    url = f"/api/obligations/{obligation.pk}/transitions/fulfil/"
    missing = api("engineer").post(url, {}, format="json")
    assert missing.status_code == 400 and missing.json()["missing"] == ["note"]
    done = api("engineer").post(url, {"note": "Filed via the portal, ref 88."}, format="json")
    assert done.status_code == 200
    body = done.json()
    assert body["state"] == "fulfilled" and body["decided_by"] == "engineer" and body["decided_at"]
    assert Event.objects.order_by("-seq").first().kind == "obligation.fulfil"
    again = api("legal").post(url, {"note": "twice"}, format="json")
    assert again.status_code == 409


def test_waive_is_for_legal_and_admins_only(rules, api, incident_in):
    obligation = incident_in("restoring").obligations.first()
    url = f"/api/obligations/{obligation.pk}/transitions/waive/"
    assert api("engineer").post(url, {"note": "no"}, format="json").status_code == 403
    assert api("executive").post(url, {"note": "no"}, format="json").status_code == 403
    waived = api("legal").post(url, {"note": "Not an EU data subject."}, format="json")
    assert waived.status_code == 200 and waived.json()["state"] == "waived"
    assert (
        api("legal")
        .post(f"/api/obligations/{obligation.pk}/transitions/forget/", {}, format="json")
        .status_code
        == 404
    )


def test_closing_with_open_obligations_is_refused_with_missing(rules, api, incident_in, legal):
    incident = incident_in("referred")
    finish_review(incident, legal)
    url = f"/api/incidents/{incident.reference}/transitions/close/"
    refused = api("legal").post(url, {}, format="json")
    assert refused.status_code == 400 and refused.json()["missing"] == ["obligations"]
    detail = api("legal").get(f"/api/incidents/{incident.reference}/").json()
    assert detail["blocked_transitions"] == {"close": ["obligations"]}
    for obligation in incident.obligations.all():
        apply_obligation(obligation, "waive", legal, note="handled outside")
    assert api("legal").post(url, {}, format="json").status_code == 200


def test_dashboard_list_filters_by_status_and_due_before(rules, api, incident_in, legal):
    incident = incident_in("restoring", aware_at=AWARE, detected_at=AWARE)
    filed = incident.obligations.get(step_key="referral_filed")
    apply_obligation(filed, "fulfil", legal, note="ok")
    before = (AWARE + dt.timedelta(hours=48)).isoformat()
    response = api("executive").get("/api/obligations/", {"status": "open", "due_before": before})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["rule"], r["step"], r["overdue"]) for r in rows] == [
        ("KALAK", "referral_decision", True)
    ]
    assert rows[0]["company_policy"] is True
    listed = api("legal").get(f"/api/incidents/{incident.reference}/obligations/").json()
    assert [o["due_at"] for o in listed] == sorted(o["due_at"] for o in listed)
    assert len(listed) == 3


@pytest.mark.parametrize("query", [{"due_before": "tomorrow"}, {"status": "lost"}])
def test_bad_dashboard_filters_are_400(api, users, query):
    assert api("legal").get("/api/obligations/", query).status_code == 400


def test_jurisdiction_rules_are_listed_with_policy_flag(rules, api):
    body = api("executive").get("/api/jurisdiction-rules/").json()
    flags = {r["code"]: (r["enabled"], r["is_policy"]) for r in body}
    assert flags == {
        "GDPR-33": (True, False),
        "GDPR-34": (True, False),
        "KALAK": (True, True),
        "NIS2": (False, False),
    }


def test_each_reminder_stage_is_due_once(rules, incident_in):
    now = timezone.now()
    incident = incident_in("restoring", aware_at=now, detected_at=now)
    decision = incident.obligations.get(step_key="referral_decision")  # due in 24 h

    def due_at(moment: dt.datetime) -> list[tuple[int, str]]:
        pairs = reminders_due(moment)
        return [(o.pk, s) for o, s in pairs if o.pk == decision.pk]

    assert due_at(now - dt.timedelta(minutes=1)) == []
    assert due_at(now + dt.timedelta(minutes=1)) == [(decision.pk, "24h")]
    assert mark_reminded(decision, "24h") is True
    assert mark_reminded(decision, "24h") is False
    assert due_at(now + dt.timedelta(hours=2)) == []
    assert due_at(now + dt.timedelta(hours=21)) == [(decision.pk, "4h")]
    # A worker that slept through the 1 h mark sends the overdue reminder only, not both.
    late = now + dt.timedelta(hours=25)
    assert due_at(late) == [(decision.pk, "overdue")]
    mark_reminded(decision, "overdue")
    assert due_at(late) == []
    stages = dict(decision.reminders.values_list("stage", "skipped"))
    assert stages == {"24h": False, "4h": True, "1h": True, "overdue": False}


def test_fulfilled_obligations_get_no_reminders(rules, incident_in, legal):
    now = timezone.now()
    incident = incident_in("restoring", aware_at=now, detected_at=now)
    for obligation in incident.obligations.all():
        apply_obligation(obligation, "fulfil", legal, note="done early")
    assert reminders_due(now + dt.timedelta(days=5)) == []


def test_moved_deadline_is_reminded_again(rules, incident_in, legal):
    now = timezone.now()
    incident = incident_in("restoring", aware_at=now, detected_at=now)
    decision = incident.obligations.get(step_key="referral_decision")
    mark_reminded(decision, "24h")
    later = now + dt.timedelta(hours=10)
    update_incident(incident, actor=legal, changes={"aware_at": later})
    pairs = reminders_due(later + dt.timedelta(minutes=1))
    assert (decision.pk, "24h") in [(o.pk, s) for o, s in pairs]


def test_reopened_close_path_still_works_without_rules(incident_in):
    # Without seeded rules no obligations exist, and the existing close path is unchanged.
    assert incident_in("closed").state == "closed"


def test_domain_close_refused_too(rules, incident_in, legal):
    from incidents.errors import RequirementsMissing

    incident = incident_in("referred")
    finish_review(incident, legal)
    with pytest.raises(RequirementsMissing) as caught:
        apply_transition(incident, "close", actor=legal)
    assert caught.value.missing == ["obligations"]


def test_seeding_is_idempotent_and_keeps_admin_edits(rules):
    from django.core.management import call_command

    assert sorted(rules) == ["GDPR-33", "GDPR-34", "KALAK", "NIS2"]
    JurisdictionRule.objects.filter(code="KALAK").update(enabled=False)
    call_command("seed_jurisdiction_rules", stdout=__import__("io").StringIO())
    assert JurisdictionRule.objects.count() == 4
    assert JurisdictionRule.objects.get(code="KALAK").enabled is False


@pytest.mark.parametrize(
    "steps",
    [
        [],
        [{"key": "a", "name": "A", "recipient": "R"}],
        [{"key": "a", "name": "A", "recipient": "R", "offset_hours": -1}],
        [{"key": "a", "name": "A", "recipient": "R", "offset_hours": 1}] * 2,
    ],
)
def test_rule_with_unusable_steps_is_refused_by_validation(rules, steps):
    from django.core.exceptions import ValidationError

    rule = JurisdictionRule.objects.get(code="KALAK")
    rule.steps = steps
    with pytest.raises(ValidationError):
        rule.full_clean()


def test_reminder_facts_carry_no_personal_data(rules, incident_in):
    from incidents.legal.obligations import reminder_facts

    obligation = incident_in("restoring", summary="Customer Ali Rezaei's card").obligations.first()
    facts = reminder_facts(obligation, "24h")
    assert facts["reference"] == obligation.incident.reference
    assert "Rezaei" not in repr(facts)


def test_enabling_a_rule_can_be_applied_to_open_incidents(rules, incident_in, users):
    from incidents.legal.obligations import resync_open_incidents

    incident = incident_in("restoring")
    closed_before = incident_in("dismissed")
    JurisdictionRule.objects.filter(code="NIS2").update(enabled=True)
    assert resync_open_incidents(actor=users["admin"]) == 1
    assert any(k.startswith("NIS2") for k in _steps(incident))
    assert closed_before.obligations.count() == 0
    event = Event.objects.order_by("-seq").first()
    assert event.kind == "obligations.synced" and event.incident_id == incident.pk
    assert resync_open_incidents(actor=users["admin"]) == 0  # nothing new: no event


def test_a_role_that_may_not_waive_hears_403_even_for_a_malformed_body(rules, api, incident_in):
    obligation = incident_in("restoring").obligations.first()
    url = f"/api/obligations/{obligation.pk}/transitions/waive/"
    response = api("engineer").post(url, {"note": ["not", "text"], "document": "x"}, format="json")
    assert response.status_code == 403
    # A role that may run it still hears about the body.
    assert api("legal").post(url, {"note": ["not", "text"]}, format="json").status_code == 400


@pytest.mark.parametrize("document", ["1e400", "{pk}.9", "true", '"{pk}"'])
def test_an_obligation_document_is_named_by_its_integer_id(
    rules, api, incident_in, media, document
):
    from tests.legal.test_evidence import upload

    incident = incident_in("restoring")
    evidence = upload(api, incident.reference).json()
    obligation = incident.obligations.first()
    url = f"/api/obligations/{obligation.pk}/transitions/fulfil/"
    body = '{"note": "n", "document": ' + document.format(pk=evidence["id"]) + "}"
    response = api("legal").generic("POST", url, body, content_type="application/json")
    assert response.status_code == 400 and "document" in response.json()
    obligation.refresh_from_db()
    assert obligation.state == "open"
    # The integer itself is accepted.
    done = api("legal").post(url, {"note": "n", "document": evidence["id"]}, format="json")
    assert done.status_code == 200, done.json()


def test_reminder_stages_of_a_due_date_near_year_one_have_passed_instead_of_overflowing(
    rules, incident_in
):
    obligation = incident_in("restoring").obligations.first()
    # Only a row written before moments were checked can hold such a date: set it directly.
    near_year_one = dt.datetime.min.replace(tzinfo=dt.UTC) + dt.timedelta(hours=2)
    Obligation.objects.filter(pk=obligation.pk).update(due_at=near_year_one)
    due = dict(reminders_due(timezone.now()))
    assert due[Obligation.objects.get(pk=obligation.pk)] == "overdue"
