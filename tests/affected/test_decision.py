"""The notification decision (issue 18 part 1): the assessment's proposal, legal's decision as
an event, high_risk and GDPR art. 34 following it, staleness when the scope raises the risk, and
the endpoint's answers."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from incidents.affected.decision import propose, record_decision
from incidents.errors import InvalidChange, RoleForbidden
from incidents.lifecycle import update_incident
from incidents.models import CategorySensitivity, Event, NotificationDecision, Obligation
from notifier.models import ChatLink
from notifier.outbox import derive_deliveries

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(db: Any) -> list[str]:
    from incidents.legal.obligations import seed_rules

    return seed_rules()


def url(incident: Any) -> str:
    return f"/api/incidents/{incident.reference}/notification-decision/"


def assessment(*categories: tuple[str, str, bool], consequences: Any = (), subjects: Any = 5):
    return {
        "categories": [
            {"category": c, "sensitivity": s, "unintelligible": u} for c, s, u in categories
        ],
        "consequences": list(consequences),
        "subjects": subjects,
    }


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (assessment(), ("", "undecided", "")),
        (assessment(("cookies", "low", False)), ("low", "not_required", "low_risk")),
        (assessment(("contact", "medium", False)), ("medium", "undecided", "")),
        (assessment(("bank_account", "high", False)), ("high", "notify", "")),
        (
            assessment(("bank_account", "high", True), ("contact", "medium", True)),
            ("high", "not_required", "unintelligible"),
        ),
        (
            assessment(("contact", "medium", False), consequences=["identity_theft"]),
            ("high", "notify", ""),
        ),
        (
            assessment(("contact", "medium", False), consequences=["phishing"]),
            ("medium", "undecided", ""),
        ),
        (
            assessment(("bank_account", "high", False), subjects=0),
            ("high", "not_required", "low_risk"),
        ),
    ],
)
def test_the_assessment_proposes_an_outcome(given, expected):
    proposal = propose(given)
    assert (proposal.risk, proposal.outcome, proposal.exemption) == expected


def test_before_any_decision_everyone_who_reads_the_incident_sees_the_proposal(api, incident_in):
    incident = incident_in("restoring")  # contact and identity: medium
    body = api("executive").get(url(incident)).json()
    assert body["version"] == 0 and body["outcome"] == "undecided"
    assert [c["category"] for c in body["assessment"]["categories"]] == ["contact", "identity"]
    assert body["risk"] == "medium" and body["proposed"] == "undecided"
    assert body["assessment"]["subjects"] == 120
    assert body["may_decide"] is False
    assert api("legal").get(url(incident)).json()["may_decide"] is True


def test_seeded_sensitivities_are_what_the_issue_says_and_admins_can_change_them(incident_in, api):
    seeded = dict(CategorySensitivity.objects.values_list("category", "sensitivity"))
    assert seeded == {
        "bank_account": "high",
        "payment_card": "high",
        "credentials": "high",
        "legal_entity_ids": "medium",
        "identity": "medium",
        "contact": "medium",
        "postal_address": "medium",
        "technical": "low",
        "usage": "low",
        "cookies": "low",
    }
    CategorySensitivity.objects.filter(category="contact").update(sensitivity="high")
    incident = incident_in("restoring")
    assert api("legal").get(url(incident)).json()["proposed"] == "notify"


def test_legal_records_the_decision_as_an_event_and_high_risk_and_gdpr34_follow(
    rules, api, incident_in
):
    incident = incident_in("restoring")
    body = {
        "assessment": {
            "categories": [{"category": "contact", "unintelligible": False}],
            "consequences": ["phishing", "fraud"],
            "measures": "Sessions revoked; the leaked table's access closed.",
        },
        "outcome": "notify",
        "reason": "Mobiles and names of 120 customers: phishing and fraud are likely.",
    }
    response = api("legal").put(url(incident), body, format="json", HTTP_IF_MATCH='"0"')
    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["outcome"] == "notify" and answer["decided_by"] == "legal"
    assert answer["risk"] == "high" and answer["high_risk"] is True
    assert answer["version"] == 1 and response.headers["ETag"] == '"1"'
    assert answer["assessment"]["measures"].startswith("Sessions revoked")
    event = Event.objects.filter(incident=incident, kind="notification.decided").get()
    assert event.actor.username == "legal"
    assert event.data["outcome"] == "notify" and event.data["high_risk"] is True
    assert {o["rule"] for o in event.data["obligations"]["created"]} == {"GDPR-34"}
    incident.refresh_from_db()
    assert incident.high_risk is True
    assert incident.obligations.filter(rule__code="GDPR-34", state="open").exists()


def test_not_required_needs_its_exemption_and_waives_gdpr34_with_the_reason(
    rules, api, incident_in
):
    incident = incident_in("restoring")
    api("legal").put(url(incident), {"outcome": "notify", "reason": "r"}, format="json")
    missing = api("legal").put(
        url(incident), {"outcome": "not_required", "reason": "x"}, format="json"
    )
    assert missing.status_code == 400 and "exemption" in missing.json()
    response = api("admin").put(
        url(incident),
        {
            "outcome": "not_required",
            "exemption": "unintelligible",
            "reason": "The table was encrypted with a key that did not leak.",
            "assessment": {
                "categories": [
                    {"category": "contact", "unintelligible": True},
                    {"category": "identity", "unintelligible": True},
                ]
            },
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["proposed"] == "not_required"
    assert response.json()["proposed_exemption"] == "unintelligible"
    waived = Obligation.objects.get(incident=incident, rule__code="GDPR-34")
    assert waived.state == "waived" and "key that did not leak" in waived.note
    kinds = list(Event.objects.filter(incident=incident).values_list("kind", flat=True))
    assert kinds[-2:] == ["notification.decided", "obligation.waive"]


def test_a_decision_needs_a_reason_and_a_known_outcome(api, incident_in):
    incident = incident_in("restoring")
    legal = api("legal")
    assert legal.put(url(incident), {"outcome": "notify"}, format="json").status_code == 400
    assert (
        legal.put(url(incident), {"outcome": "maybe", "reason": "r"}, format="json").status_code
        == 400
    )
    with_exemption = {"outcome": "notify", "exemption": "low_risk", "reason": "r"}
    assert legal.put(url(incident), with_exemption, format="json").status_code == 400
    outside = {
        "outcome": "undecided",
        "assessment": {"categories": [{"category": "bank_account"}]},
    }
    refused = legal.put(url(incident), outside, format="json")
    assert refused.status_code == 400 and "categories" in refused.json()
    assert (
        legal.put(url(incident), {"outcome": "undecided", "x": 1}, format="json").status_code == 400
    )
    assert not NotificationDecision.objects.exists()
    assert not Event.objects.filter(kind="notification.decided").exists()


@pytest.mark.parametrize("role", ["engineer", "executive", "norole"])
def test_only_legal_and_admins_decide(api, incident_in, role):
    incident = incident_in("restoring")
    response = api(role).put(url(incident), {"outcome": "notify", "reason": "r"}, format="json")
    assert response.status_code == 403
    assert not NotificationDecision.objects.exists()


def test_the_domain_refuses_other_roles_too(users, incident_in):
    incident = incident_in("restoring")
    with pytest.raises(RoleForbidden):
        record_decision(incident, actor=users["engineer"], outcome="notify", reason="r")
    with pytest.raises(InvalidChange):
        record_decision(incident, actor=users["legal"], outcome="not_required", reason="r")


def test_a_stale_version_is_412_and_changes_nothing(api, incident_in):
    incident = incident_in("restoring")
    legal = api("legal")
    assert (
        legal.put(url(incident), {"outcome": "notify", "reason": "a"}, format="json").status_code
        == 200
    )
    stale = legal.put(url(incident), {"outcome": "undecided"}, format="json", HTTP_IF_MATCH='"0"')
    assert stale.status_code == 412
    assert NotificationDecision.objects.get().outcome == "notify"


def test_a_restricted_incident_is_a_404_for_a_non_member(api, incident_in, users):
    from incidents.need_to_know import change_restriction

    incident = incident_in("restoring")
    change_restriction(incident, actor=users["admin"], restricted=True, members=[])
    assert api("legal").get(url(incident)).status_code == 404
    put = api("legal").put(url(incident), {"outcome": "notify", "reason": "r"}, format="json")
    assert put.status_code == 404
    assert api("admin").get(url(incident)).status_code == 200


def test_a_scope_change_that_raises_the_risk_makes_the_decision_stale_and_reminds_legal(
    users, incident_in
):
    incident = incident_in("restoring")  # contact, identity: medium
    record_decision(
        incident, actor=users["legal"], outcome="not_required", exemption="low_risk", reason="r"
    )
    for number, user in enumerate([users["legal"], users["engineer"]], start=1):
        ChatLink.objects.create(user=user, account_id=number, chat_id=number)
    derive_deliveries()  # everything so far

    update_incident(incident, actor=users["engineer"], changes={"affected_subjects_estimate": 200})
    decision = NotificationDecision.objects.get()
    assert decision.stale is False  # the same risk: nothing to decide again

    incident.refresh_from_db()
    categories = [*incident.data_categories, "bank_account"]
    _incident, event = update_incident(
        incident, actor=users["engineer"], changes={"data_categories": categories}
    )
    decision.refresh_from_db()
    assert decision.stale is True and decision.stale_since is not None
    assert decision.risk == "high" and decision.proposed == "notify"
    assert decision.outcome == "not_required"  # legal's decision stands until legal decides again
    assert event.data["notification"] == "stale"

    from notifier.models import Delivery

    derive_deliveries()
    reminded = Delivery.objects.filter(event=event)
    assert [d.user.username for d in reminded] == ["legal"]
    assert "دوباره تصمیم بگیرید" in reminded.get().text  # "decide again", in fa (the default)

    record_decision(incident, actor=users["legal"], outcome="notify", reason="Bank data too.")
    decision.refresh_from_db()
    assert decision.stale is False


def test_an_undecided_assessment_follows_the_scope_without_becoming_stale(users, incident_in):
    incident = incident_in("restoring")
    record_decision(incident, actor=users["legal"], outcome="undecided")
    incident.refresh_from_db()
    update_incident(
        incident,
        actor=users["engineer"],
        changes={"data_categories": [*incident.data_categories, "payment_card"]},
    )
    decision = NotificationDecision.objects.get()
    assert decision.stale is False and decision.proposed == "notify"
    assert "payment_card" in [c["category"] for c in decision.assessment["categories"]]


def test_the_incident_page_shows_the_decision(users, incident_in):
    incident = incident_in("restoring")
    record_decision(
        incident, actor=users["legal"], outcome="notify", reason="Names and mobiles leaked."
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(users["executive"])
    html = client.get(f"/incidents/{incident.reference}/").content.decode()
    assert "Names and mobiles leaked." in html
    assert "Notify the people affected" in html
