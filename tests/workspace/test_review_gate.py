"""Closing a high or critical incident needs a finished post-incident review
(settings.REVIEW_REQUIRED_SEVERITIES): refused with ``missing: ["review"]`` otherwise, on both
closing edges; low and medium incidents close without one."""

from __future__ import annotations

import pytest

from incidents.errors import RequirementsMissing
from incidents.lifecycle import apply_transition
from incidents.workspace.review import save_review
from tests.conftest import finish_review

pytestmark = pytest.mark.django_db


def close_url(incident) -> str:
    return f"/api/incidents/{incident.reference}/transitions/close/"


@pytest.mark.parametrize("severity", ["high", "critical"])
def test_closing_a_referred_incident_without_a_finished_review_is_refused(
    api, incident_in, severity
):
    incident = incident_in("referred", severity=severity)
    refused = api("legal").post(close_url(incident), {}, format="json")
    assert refused.status_code == 400 and refused.json()["missing"] == ["review"]
    detail = api("legal").get(f"/api/incidents/{incident.reference}/").json()
    assert detail["blocked_transitions"] == {"close": ["review"]}
    finish_review(incident, incident.reporter)
    closed = api("legal").post(close_url(incident), {}, format="json")
    assert closed.status_code == 200 and closed.json()["state"] == "closed"


def test_closing_without_referral_names_the_reason_and_the_review(incident_in, legal):
    incident = incident_in("restored", severity="critical")
    with pytest.raises(RequirementsMissing) as refused:
        apply_transition(incident, "close", actor=legal, payload={"reason": "No data left."})
    assert refused.value.missing == ["review"]
    finish_review(incident, legal)
    incident, _ = apply_transition(incident, "close", actor=legal, payload={"reason": "No data."})
    assert incident.state == "closed"


def test_an_unfinished_review_does_not_count(incident_in, users):
    incident = incident_in("referred")
    save_review(
        incident.reference,
        actor=users["engineer"],
        root_cause="Written, not finished.",
        went_well="",
        went_badly="",
        finished=False,
    )
    with pytest.raises(RequirementsMissing) as refused:
        apply_transition(incident, "close", actor=users["legal"])
    assert refused.value.missing == ["review"]


@pytest.mark.parametrize("severity", ["low", "medium"])
def test_low_and_medium_incidents_close_without_a_review(api, incident_in, severity):
    incident = incident_in("referred", severity=severity)
    closed = api("legal").post(close_url(incident), {}, format="json")
    assert closed.status_code == 200 and closed.json()["state"] == "closed"


def test_the_setting_names_the_severities_that_need_one(api, incident_in, settings):
    settings.REVIEW_REQUIRED_SEVERITIES = ["critical"]
    high = incident_in("referred", severity="high")
    assert api("legal").post(close_url(high), {}, format="json").status_code == 200
    critical = incident_in("referred", severity="critical")
    assert api("legal").post(close_url(critical), {}, format="json").status_code == 400
    settings.REVIEW_REQUIRED_SEVERITIES = ["low", "medium", "high", "critical"]
    low = incident_in("referred", severity="low")
    refused = api("legal").post(close_url(low), {}, format="json")
    assert refused.status_code == 400 and refused.json()["missing"] == ["review"]
    settings.REVIEW_REQUIRED_SEVERITIES = []
    assert api("legal").post(close_url(critical), {}, format="json").status_code == 200


def test_the_closed_incident_keeps_its_review_frozen(api, incident_in):
    incident = incident_in("closed")
    body = {"root_cause": "Other", "went_well": "", "went_badly": "", "finished": False}
    refused = api("engineer").put(
        f"/api/incidents/{incident.reference}/review/", body, format="json"
    )
    assert refused.status_code == 409
