"""GET/PUT /api/incidents/{ref}/review/: written once the incident is restored, finished with a
root cause, one event per save naming the changed fields (by digest, not text), versions for
If-Match, executives read only; and the summary drafted from the record."""

from __future__ import annotations

import hashlib

import pytest

from incidents.acknowledgements import acknowledge
from incidents.models import Event

pytestmark = pytest.mark.django_db

REVIEW = {
    "root_cause": "A phishing mail took an admin's password.",
    "went_well": "Sessions were revoked within the hour.",
    "went_badly": "Nobody was paged at night.",
    "finished": False,
}


def url(incident) -> str:
    return f"/api/incidents/{incident.reference}/review/"


def test_before_restore_the_review_reads_empty_and_refuses_writing(api, incident_in):
    incident = incident_in("scoping")
    body = api("engineer").get(url(incident)).json()
    assert body["version"] == 0 and body["reviewable"] is False
    assert body["root_cause"] == "" and body["finished"] is False
    assert [p["state"] for p in body["summary"]["phases"]] == ["detected", "scoping"]
    refused = api("engineer").put(url(incident), REVIEW, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 409 and "restored" in refused.json()["detail"]
    assert not Event.objects.filter(kind__startswith="review.").exists()


def test_engineer_writes_then_finishes_with_one_event_each(api, incident_in):
    incident = incident_in("restored")
    eng = api("engineer")
    saved = eng.put(url(incident), REVIEW, format="json", HTTP_IF_MATCH='"0"')
    assert saved.status_code == 200, saved.json()
    assert saved["ETag"] == '"1"' and saved.json()["finished"] is False
    finished = eng.put(url(incident), {**REVIEW, "finished": True}, format="json")
    body = finished.json()
    assert body["finished"] is True and body["finished_by"] == "engineer" and body["version"] == 2
    kinds = list(Event.objects.filter(incident=incident).values_list("kind", flat=True))
    assert kinds[-2:] == ["review.updated", "review.finished"]
    first = Event.objects.get(incident=incident, kind="review.updated")
    digest = hashlib.sha256(REVIEW["root_cause"].encode()).hexdigest()
    assert first.data["changes"]["root_cause"] == digest
    assert REVIEW["root_cause"] not in str(first.data)


def test_saving_the_same_review_again_writes_no_event(api, incident_in):
    incident = incident_in("restored")
    api("engineer").put(url(incident), REVIEW, format="json")
    events = Event.objects.count()
    again = api("legal").put(url(incident), REVIEW, format="json")
    assert again.status_code == 200 and again.json()["version"] == 1
    assert Event.objects.count() == events


def test_finishing_without_a_root_cause_is_400_with_missing(api, incident_in):
    incident = incident_in("restored")
    body = {**REVIEW, "root_cause": "  ", "finished": True}
    refused = api("engineer").put(url(incident), body, format="json")
    assert refused.status_code == 400 and refused.json()["missing"] == ["root_cause"]


def test_a_stale_version_is_412(api, incident_in):
    incident = incident_in("restored")
    api("engineer").put(url(incident), REVIEW, format="json")
    stale = api("legal").put(
        url(incident), {**REVIEW, "went_well": "x"}, format="json", HTTP_IF_MATCH='"0"'
    )
    assert stale.status_code == 412


def test_executive_reads_but_may_not_write(api, incident_in):
    incident = incident_in("restored")
    assert api("executive").get(url(incident)).status_code == 200
    assert api("executive").put(url(incident), REVIEW, format="json").status_code == 403
    assert api("norole").get(url(incident)).status_code == 403


def test_a_finished_review_changes_only_by_reopening_it(api, incident_in):
    incident = incident_in("restored")
    eng = api("engineer")
    eng.put(url(incident), {**REVIEW, "finished": True}, format="json")
    edit = {**REVIEW, "finished": True, "went_badly": "More"}
    assert eng.put(url(incident), edit, format="json").status_code == 409
    reopened = eng.put(url(incident), {**edit, "finished": False}, format="json")
    assert reopened.status_code == 200 and reopened.json()["finished"] is False
    assert Event.objects.filter(incident=incident).last().kind == "review.reopened"


def test_bad_bodies_are_400(api, incident_in):
    incident = incident_in("restored")
    eng = api("engineer")
    assert eng.put(url(incident), {"finished": True}, format="json").status_code == 400
    extra = {**REVIEW, "version": 3}
    assert eng.put(url(incident), extra, format="json").status_code == 400
    long = {**REVIEW, "root_cause": "x" * 20001}
    assert eng.put(url(incident), long, format="json").status_code == 400
    assert eng.put(url(incident), [], format="json").status_code == 400


def test_summary_has_phases_milestones_and_the_timeline_in_words(api, incident_in, users):
    incident = incident_in("referred")
    acknowledge(incident, users["legal"])
    body = api("engineer").get(url(incident), HTTP_ACCEPT_LANGUAGE="en").json()
    summary = body["summary"]
    states = [p["state"] for p in summary["phases"]]
    assert states == ["detected", "scoping", "restoring", "restored", "referred"]
    assert summary["phases"][-1]["ongoing"] is True and summary["phases"][-1]["ended_at"] is None
    assert all(p["seconds"] >= 0 for p in summary["phases"])
    milestones = summary["milestones"]
    assert set(milestones) == {
        "time_to_acknowledge",
        "time_to_scope",
        "time_to_restore",
        "time_to_refer",
    }
    assert all(value is not None and value >= 0 for value in milestones.values())
    assert summary["acknowledged_at"] is not None
    whats = [row["what"] for row in summary["timeline"]]
    assert whats[0] == "New incident" and "Referred to an authority" in whats


def test_summary_costs_the_same_queries_however_long_the_record(
    api, incident_in, users, django_assert_max_num_queries
):
    from incidents.notes import add_note
    from incidents.workspace.review_summary import review_summary

    short, long = incident_in("restored"), incident_in("restored")
    for i in range(60):
        add_note(long, actor=users["engineer"], text=f"note {i}")
    for incident in (short, long):
        with django_assert_max_num_queries(4):
            summary = review_summary(incident)
    assert len(summary.timeline) > 60
