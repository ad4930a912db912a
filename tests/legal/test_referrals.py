"""Referrals: their own lifecycle, who may write them, and their place in the timeline."""

from __future__ import annotations

from typing import Any

import pytest

from incidents.models import Event
from tests.conftest import just_now

pytestmark = pytest.mark.django_db


def _new(api: Any, reference: str, role: str = "legal", **data: Any) -> Any:
    body = {"authority": "cyber_police", "authority_name": "FATA Tehran", **data}
    return api(role).post(f"/api/incidents/{reference}/referrals/", body, format="json")


def _run(api: Any, pk: int, name: str, role: str = "legal", **payload: Any) -> Any:
    return api(role).post(f"/api/referrals/{pk}/transitions/{name}/", payload, format="json")


def test_referral_walks_its_lifecycle_and_each_step_is_a_timeline_event(api, incident_in):
    incident = incident_in("restored")
    created = _new(api, incident.reference)
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["state"] == "draft"
    assert _run(api, pk, "submit", at=just_now()).json()["state"] == "submitted"
    ack = _run(api, pk, "acknowledge", case_number="1405-77")
    assert ack.json()["state"] == "acknowledged" and ack.json()["case_number"] == "1405-77"
    assert _run(api, pk, "start_investigation").json()["state"] == "investigating"
    done = _run(api, pk, "conclude", outcome="Suspect identified.")
    assert done.status_code == 200
    assert done.json()["state"] == "concluded" and done.json()["concluded_at"]
    kinds = list(Event.objects.filter(incident=incident).values_list("kind", flat=True))
    assert kinds[-5:] == [
        "referral.created",
        "referral.submit",
        "referral.acknowledge",
        "referral.start_investigation",
        "referral.conclude",
    ]


def test_withdraw_needs_a_reason_and_is_refused_once_concluded(api, incident_in):
    pk = _new(api, incident_in("restored").reference).json()["id"]
    missing = _run(api, pk, "withdraw")
    assert missing.status_code == 400 and missing.json()["missing"] == ["reason"]
    withdrawn = _run(api, pk, "withdraw", reason="Settled with the attacker's provider.")
    assert withdrawn.json()["state"] == "withdrawn"
    assert withdrawn.json()["withdrawn_reason"].startswith("Settled")
    again = _run(api, pk, "withdraw", reason="again")
    assert again.status_code == 409 and again.json()["state"] == "withdrawn"


def test_conclude_without_outcome_is_400_missing(api, incident_in):
    pk = _new(api, incident_in("restored").reference).json()["id"]
    _run(api, pk, "submit")
    response = _run(api, pk, "conclude")
    assert response.status_code == 400 and response.json()["missing"] == ["outcome"]


def test_a_referral_moment_comes_after_the_detection_and_the_moments_before_it(api, incident_in):
    incident = incident_in("restored", detected_at="2026-03-01T08:00:00Z")
    pk = _new(api, incident.reference).json()["id"]
    before_detection = _run(api, pk, "submit", at="2026-03-01T07:59:00Z")
    assert before_detection.status_code == 400
    assert "detected_at (2026-03-01T11:30+03:30)" in before_detection.json()["at"][0]
    assert _run(api, pk, "submit", at="2026-03-02T09:00:00Z").json()["state"] == "submitted"
    answered_early = _run(api, pk, "acknowledge", at="2026-03-02T08:00:00Z")
    assert answered_early.status_code == 400 and "submitted_at" in answered_early.json()["at"][0]
    assert _run(api, pk, "acknowledge", at="2026-03-03T09:00:00Z").status_code == 200
    concluded_early = _run(api, pk, "conclude", outcome="x", at="2026-03-02T10:00:00Z")
    assert (
        concluded_early.status_code == 400 and "acknowledged_at" in concluded_early.json()["at"][0]
    )
    referral = api("legal").get(f"/api/referrals/{pk}/").json()
    assert (referral["state"], referral["outcome"]) == ("acknowledged", "")
    kinds = list(Event.objects.filter(incident=incident).values_list("kind", flat=True))
    assert kinds[-3:] == ["referral.created", "referral.submit", "referral.acknowledge"]


def test_unknown_transition_is_404_and_wrong_state_is_409(api, incident_in):
    pk = _new(api, incident_in("restored").reference).json()["id"]
    assert _run(api, pk, "teleport").status_code == 404
    conflict = _run(api, pk, "acknowledge")
    assert conflict.status_code == 409
    assert conflict.json()["allowed"] == ["submit", "withdraw"]


@pytest.mark.parametrize("role", ["engineer", "executive"])
def test_engineers_and_executives_read_but_cannot_write_referrals(api, incident_in, role):
    incident = incident_in("restored")
    pk = _new(api, incident.reference).json()["id"]
    assert _new(api, incident.reference, role=role).status_code == 403
    assert _run(api, pk, "submit", role=role).status_code == 403
    patch = api(role).patch(f"/api/referrals/{pk}/", {"case_number": "x"}, format="json")
    assert patch.status_code == 403
    listed = api(role).get(f"/api/incidents/{incident.reference}/referrals/")
    assert listed.status_code == 200 and [r["id"] for r in listed.json()] == [pk]


def test_editing_a_referral_records_old_and_new_values(api, incident_in):
    pk = _new(api, incident_in("restored").reference).json()["id"]
    response = api("legal").patch(
        f"/api/referrals/{pk}/",
        {"contact": "Officer Rahimi"},
        format="json",
        HTTP_IF_MATCH='"1"',
    )
    assert response.status_code == 200 and response.json()["version"] == 2
    event = Event.objects.order_by("-seq").first()
    assert event.kind == "referral.updated"
    assert event.data["changes"] == {"contact": {"from": "", "to": "Officer Rahimi"}}
    stale = api("legal").patch(
        f"/api/referrals/{pk}/", {"contact": "x"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert stale.status_code == 412


def test_other_authority_needs_a_name_and_unknown_fields_are_refused(api, incident_in):
    reference = incident_in("restored").reference
    response = _new(api, reference, authority="other", authority_name="")
    assert response.status_code == 400 and "authority_name" in response.json()
    assert _new(api, reference, state="concluded").status_code == 400


def test_refer_needs_a_submitted_referral_not_a_draft(api, incident_in):
    incident = incident_in("restored")
    pk = _new(api, incident.reference).json()["id"]
    url = f"/api/incidents/{incident.reference}/transitions/refer/"
    blocked = api("legal").post(url, {}, format="json")
    assert blocked.status_code == 400
    assert blocked.json()["missing"] == ["authority", "submitted_at"]
    _run(api, pk, "submit")
    referred = api("legal").post(url, {}, format="json")
    assert referred.status_code == 200 and referred.json()["state"] == "referred"


def test_a_withdrawn_referral_does_not_count_for_refer(api, incident_in):
    incident = incident_in("restored")
    pk = _new(api, incident.reference).json()["id"]
    _run(api, pk, "submit")
    _run(api, pk, "withdraw", reason="filed with the wrong office")
    url = f"/api/incidents/{incident.reference}/transitions/refer/"
    assert api("legal").post(url, {}, format="json").status_code == 400


def test_incident_can_have_several_referrals(api, incident_in):
    reference = incident_in("restored").reference
    _new(api, reference)
    _new(api, reference, authority="cybercrime_prosecutor")
    listed = api("legal").get(f"/api/incidents/{reference}/referrals/").json()
    assert [r["authority"] for r in listed] == ["cyber_police", "cybercrime_prosecutor"]


def test_a_role_that_may_not_write_referrals_hears_403_before_any_complaint_about_the_body(
    api, incident_in
):
    incident = incident_in("restored")
    pk = _new(api, incident.reference).json()["id"]
    before = Event.objects.count()
    bad = {"authority": "bogus", "evidence": "x", "at": "yesterday"}
    calls = [
        ("post", f"/api/incidents/{incident.reference}/referrals/"),
        ("patch", f"/api/referrals/{pk}/"),
        ("post", f"/api/referrals/{pk}/evidence/"),
        ("post", f"/api/referrals/{pk}/transitions/submit/"),
        ("post", f"/api/incidents/{incident.reference}/transitions/refer/"),
    ]
    for role in ("engineer", "executive"):
        for method, url in calls:
            response = getattr(api(role), method)(url, bad, format="json")
            assert response.status_code == 403, (role, url, response.json())
            assert "detail" in response.json()
    assert Event.objects.count() == before
