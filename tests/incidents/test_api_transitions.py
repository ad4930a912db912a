"""POST /api/incidents/{reference}/transitions/{name}/: every status code and the role matrix."""

from __future__ import annotations

import pytest

from incidents.models import Event
from tests.conftest import (
    complete_required_tasks,
    complete_required_tasks_over_http,
    finish_review,
    just_now,
)

pytestmark = pytest.mark.django_db

PAYLOADS = {
    "start_scoping": {},
    "start_restoration": {},
    "mark_restored": {"restoration_summary": "Rebuilt from clean images."},
    "refer": {"authority": "cyber_police"},  # and submitted_at: see payload()
    "close": {},
    "dismiss": {"reason": "duplicate"},
    "reopen": {"reason": "new evidence"},
}


def payload(name: str) -> dict:
    """A valid body for the transition; a referral is submitted after its incident's detection."""
    return {**PAYLOADS[name], "submitted_at": just_now()} if name == "refer" else PAYLOADS[name]


# (transition, state it starts from) for every edge of the lifecycle.
EDGES = [
    ("start_scoping", "detected"),
    ("start_restoration", "restoring_ready"),
    ("mark_restored", "restoring"),
    ("refer", "restored"),
    ("close", "referred"),
    ("dismiss", "detected"),
    ("dismiss", "scoping"),
    ("reopen", "dismissed"),
    ("reopen", "closed"),
]
ALLOWED = {
    ("start_scoping", "detected"): {"engineer", "admin"},
    ("start_restoration", "restoring_ready"): {"engineer", "admin"},
    ("mark_restored", "restoring"): {"engineer", "admin"},
    ("refer", "restored"): {"legal", "admin"},
    ("close", "referred"): {"legal", "admin"},
    ("dismiss", "detected"): {"engineer", "admin"},
    ("dismiss", "scoping"): {"engineer", "admin"},
    ("reopen", "dismissed"): {"engineer", "admin"},
    ("reopen", "closed"): {"admin"},
}
ROLES = ["engineer", "legal", "executive", "admin", "norole"]


def url(incident, name):
    return f"/api/incidents/{incident.reference}/transitions/{name}/"


def build(incident_in, engineer_api, start):
    if start == "restoring_ready":
        incident = incident_in("scoping")
        r = engineer_api.patch(
            f"/api/incidents/{incident.reference}/",
            {
                "attack_vector": "phishing",
                "affected_systems": [{"name": "db", "hosting": "own"}],
                "affected_subjects_estimate": 3,
            },
            format="json",
        )
        assert r.status_code == 200
        incident.refresh_from_db()
        complete_required_tasks(incident, incident.reporter)
        return incident
    incident = incident_in(start)
    if start == "restoring":  # the matrix is about roles: the runbook's gate is met
        complete_required_tasks(incident, incident.reporter)
    if start == "referred":  # the matrix is about roles: the review closing needs is written
        finish_review(incident, incident.reporter)
    return incident


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, start", EDGES)
def test_role_transition_matrix(api, incident_in, role, name, start):
    incident = build(incident_in, api("engineer"), start)
    events_before = Event.objects.count()
    r = api(role).post(url(incident, name), payload(name), format="json")
    if role in ALLOWED[(name, start)]:
        assert r.status_code == 200, r.json()
        assert r.json()["version"] == incident.version + 1
        assert r["ETag"] == f'"{incident.version + 1}"'
        assert Event.objects.count() == events_before + 1
    else:
        assert r.status_code == 403, r.json()
        assert "detail" in r.json()
        assert Event.objects.count() == events_before


def test_full_walk_from_detection_to_closure_over_http(api):
    eng, legal = api("engineer"), api("legal")
    ref = eng.post(
        "/api/incidents/", {"title": "Customer list leaked", "severity": "critical"}, format="json"
    ).json()["reference"]
    base = f"/api/incidents/{ref}/"
    assert eng.post(base + "transitions/start_scoping/").json()["state"] == "scoping"
    eng.patch(
        base,
        {
            "attack_vector": "insider",
            "affected_systems": [{"name": "crm", "hosting": "provider"}],
            "affected_subjects_estimate": 900,
            "data_categories": ["identity", "contact"],
        },
        format="json",
    )
    # The insider runbook's required scoping tasks, then the restoring ones with a second
    # engineer (an admin) confirming the fix.
    scoping = complete_required_tasks_over_http(eng, api("admin"), ref)
    assert (
        eng.post(base + "transitions/start_restoration/", {}, format="json").json()["state"]
        == "restoring"
    )
    restoring = complete_required_tasks_over_http(eng, api("admin"), ref)
    assert (
        eng.post(
            base + "transitions/mark_restored/", PAYLOADS["mark_restored"], format="json"
        ).json()["state"]
        == "restored"
    )
    assert (
        legal.post(base + "transitions/refer/", payload("refer"), format="json").json()["state"]
        == "referred"
    )
    review = {"root_cause": "An insider", "went_well": "", "went_badly": "", "finished": True}
    assert eng.put(base + "review/", review, format="json").status_code == 200
    assert legal.post(base + "transitions/close/", {}, format="json").json()["state"] == "closed"
    timeline = eng.get(base + "timeline/").json()["results"]
    assert [e["kind"] for e in timeline] == [
        "created",
        "start_scoping",
        "updated",
        *["task.done"] * len(scoping),
        "start_restoration",
        *["task.done"] * len(restoring),
        "mark_restored",
        "refer",
        "review.finished",
        "close",
    ]
    assert [e["seq"] for e in timeline] == sorted(e["seq"] for e in timeline)


def test_unknown_incident_or_transition_is_404(api, incident_in):
    incident = incident_in("detected")
    assert (
        api("engineer").post("/api/incidents/INC-1999-0001/transitions/start_scoping/").status_code
        == 404
    )
    r = api("engineer").post(url(incident, "teleport"))
    assert r.status_code == 404 and "teleport" in r.json()["detail"]


def test_wrong_state_is_409_with_state_and_allowed(api, incident_in):
    incident = incident_in("detected")
    r = api("engineer").post(
        url(incident, "mark_restored"), PAYLOADS["mark_restored"], format="json"
    )
    assert r.status_code == 409
    assert r.json()["state"] == "detected"
    assert sorted(r.json()["allowed"]) == ["dismiss", "start_scoping"]


def test_missing_requirement_is_400_with_missing(api, incident_in):
    incident = incident_in("scoping")
    r = api("engineer").post(url(incident, "start_restoration"))
    assert r.status_code == 400
    assert r.json()["missing"] == [
        "attack_vector",
        "affected_systems",
        "affected_subjects_estimate",
        "tasks",
    ]
    # The runbook's open required tasks are named, in the caller's language.
    required = incident.tasks.required_open().get()
    assert r.json()["tasks"] == [{"id": required.pk, "title": required.step.title()}]
    r = api("legal").post(url(incident_in("restored"), "close"))
    assert r.status_code == 400 and r.json()["missing"] == ["reason", "review"]
    r = api("legal").post(url(incident_in("restored", severity="low"), "close"))
    assert r.status_code == 400 and r.json()["missing"] == ["reason"]


def test_stale_if_match_is_412(api, incident_in):
    incident = incident_in("detected")
    r = api("engineer").post(url(incident, "start_scoping"), HTTP_IF_MATCH='"7"')
    assert r.status_code == 412
    ok = api("engineer").post(url(incident, "start_scoping"), HTTP_IF_MATCH=f'"{incident.version}"')
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "name, body, field",
    [
        ("dismiss", {"reason": 5 * "x" * 1001}, "reason"),
        ("refer", {"authority": "interpol", "submitted_at": "2026-01-01T00:00:00Z"}, "authority"),
        ("refer", {"authority": "cyber_police", "submitted_at": "soon"}, "submitted_at"),
        ("refer", {"authority": "other", "submitted_at": "2026-01-01T00:00:00Z"}, "authority_name"),
        ("start_scoping", {"reason": "why not"}, "reason"),
        ("dismiss", {"state": "closed", "reason": "x"}, "state"),
    ],
)
def test_bad_payload_is_400_with_field_errors(api, incident_in, name, body, field):
    incident = incident_in("restored" if name == "refer" else "detected")
    role = "legal" if name == "refer" else "engineer"
    r = api(role).post(url(incident, name), body, format="json")
    assert r.status_code == 400 and field in r.json(), r.json()


def test_malformed_transition_body_is_400(api, incident_in):
    incident = incident_in("detected")
    r = api("engineer").generic(
        "POST", url(incident, "dismiss"), "{oops", content_type="application/json"
    )
    assert r.status_code == 400


def test_event_feed_returns_events_after_seq_oldest_first(api, incident_in):
    incident_in("scoping")
    incident = incident_in("detected")
    body = api("executive").get("/api/events/?after=1").json()
    seqs = [e["seq"] for e in body["results"]]
    assert seqs == [2, 3] and "count" not in body and body["next"] is None
    assert body["results"][-1]["incident"] == incident.reference
    assert body["results"][-1]["incident_summary"]["state"] == "detected"
    one = api("executive").get(f"/api/events/?after=0&incident={incident.reference}").json()
    assert [e["seq"] for e in one["results"]] == [3]
    assert api("executive").get("/api/events/?after=abc").status_code == 400
    assert api("norole").get("/api/events/").status_code == 403


def test_domain_errors_speak_the_request_language(api, incident_in):
    incident = incident_in("closed")
    engineer = api("engineer")
    persian = engineer.post(url(incident, "start_scoping"))
    english = engineer.post(url(incident, "start_scoping"), HTTP_ACCEPT_LANGUAGE="en")
    assert persian.status_code == english.status_code == 409
    assert english.json()["detail"] == "'start_scoping' is not allowed from state 'closed'."
    assert persian.json()["detail"] == "«start_scoping» از وضعیت «closed» مجاز نیست."
    assert persian.json()["allowed"] == english.json()["allowed"]
    refused = api("legal").post(url(incident, "start_scoping"))
    assert refused.json()["detail"] == "نقش شما اجازهٔ اجرای «start_scoping» روی رخدادها را ندارد."
