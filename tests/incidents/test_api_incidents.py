"""The incident resource: create, list, read, edit, with every status code a client can provoke."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from tests.conftest import client_for, finish_review

pytestmark = pytest.mark.django_db
URL = "/api/incidents/"


def create(api, role="engineer", **body):
    return api(role).post(
        URL, {"title": "Card data in logs", "severity": "high", **body}, format="json"
    )


def test_engineer_logs_a_breach(api):
    r = create(api, summary="Found in app logs", detected_at="2026-03-01T08:00:00Z")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["state"] == "detected" and body["reporter"] == "engineer"
    assert body["reference"].startswith("INC-") and body["version"] == 1
    assert body["aware_at"] == body["detected_at"] == "2026-03-01T11:30:00+03:30"
    assert r["ETag"] == '"1"'
    assert body["available_transitions"] == ["start_scoping", "dismiss"]


@pytest.mark.parametrize("role", ["legal", "executive", "norole"])
def test_only_engineers_and_admins_log_breaches(api, role):
    assert create(api, role).status_code == 403


def test_anonymous_requests_get_401(db):
    anonymous = client_for(None)
    assert anonymous.get(URL).status_code == 401
    assert anonymous.post(URL, {}, format="json").status_code == 401


def test_unknown_and_deactivated_tokens_get_401(api, users):
    from rest_framework.test import APIClient

    unknown = APIClient(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert unknown.get(URL).status_code == 401
    assert api("engineer").get(URL).status_code == 200
    users["engineer"].is_active = False
    users["engineer"].save()
    r = api("engineer").get(URL)
    assert r.status_code == 401 and r.json()["detail"]


def test_user_without_a_role_reads_nothing(api):
    assert api("norole").get(URL).status_code == 403


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": "", "severity": "high"}, "title"),
        ({"title": "x" * 201, "severity": "high"}, "title"),
        ({"title": "t", "severity": "apocalyptic"}, "severity"),
        (
            {"title": "t", "severity": "high", "affected_subjects_estimate": -1},
            "affected_subjects_estimate",
        ),
        (
            {"title": "t", "severity": "high", "affected_subjects_estimate": "many"},
            "affected_subjects_estimate",
        ),
        (
            {"title": "t", "severity": "high", "affected_subjects_estimate": 10**30},
            "affected_subjects_estimate",
        ),
        ({"title": "t", "severity": "high", "data_categories": ["dna"]}, "data_categories"),
        ({"title": "t", "severity": "high", "data_categories": "contact"}, "data_categories"),
        (
            {"title": "t", "severity": "high", "affected_systems": [{"name": "db"}]},
            "affected_systems",
        ),
        (
            {
                "title": "t",
                "severity": "high",
                "affected_systems": [{"name": "db", "hosting": "moon"}],
            },
            "affected_systems",
        ),
        ({"title": "t", "severity": "high", "detected_at": "yesterday"}, "detected_at"),
        (
            {
                "title": "t",
                "severity": "high",
                "detected_at": "2026-03-02T00:00:00Z",
                "aware_at": "2026-03-01T00:00:00Z",
            },
            "aware_at",
        ),
        ({"title": "t", "severity": "high", "state": "closed"}, "state"),
        ({"title": "t", "severity": "high", "reference": "INC-1"}, "reference"),
        ({"title": "t", "severity": "high", "colour": "red"}, "colour"),
        ({"title": ["t"], "severity": "high"}, "title"),
        ({"title": "t", "severity": "high", "commander": "nobody"}, "commander"),
    ],
)
def test_bad_input_gets_field_errors_and_writes_nothing(api, body, field):
    from incidents.models import Incident

    r = api("engineer").post(URL, body, format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    "raw, content_type, status",
    [
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ("null", "application/json", 400),
        ("title=x&severity=low", "application/x-www-form-urlencoded", 415),
        ('"just a string"', "application/json", 400),
    ],
)
def test_malformed_bodies_never_500(api, raw, content_type, status):
    r = api("engineer").generic("POST", URL, raw, content_type=content_type)
    assert r.status_code == status
    assert "detail" in r.json() or r.json()


def test_oversize_body_is_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    r = create(api, summary="x" * 5000)
    assert r.status_code == 413 and "detail" in r.json()


def test_list_is_paginated_filtered_searched_and_ordered(api, incident_in):
    a = incident_in("detected", title="Phishing wave", severity="low")
    b = incident_in("scoping", title="Database dump", severity="critical")
    c = incident_in("dismissed", title="Phishing test", severity="medium")
    client = api("executive")
    body = client.get(URL).json()
    assert set(body) == {"count", "next", "previous", "results"} and body["count"] == 3
    assert [i["reference"] for i in body["results"]] == [c.reference, b.reference, a.reference]
    refs = lambda q: [i["reference"] for i in client.get(URL + q).json()["results"]]  # noqa: E731
    assert refs("?state=scoping") == [b.reference]
    assert refs("?severity=low&severity=medium") == [c.reference, a.reference]
    assert refs("?search=phishing") == [c.reference, a.reference]
    assert refs(f"?search={b.reference}") == [b.reference]
    assert refs("?ordering=ref_number") == [a.reference, b.reference, c.reference]
    assert client.get(URL + "?page_size=1").json()["next"]
    assert client.get(URL + "?state=bogus").status_code == 400
    assert client.get(URL + "?page=99").status_code == 404


def test_retrieve_carries_etag_and_transitions_for_this_caller(api, incident_in):
    incident = incident_in("restored")
    url = f"{URL}{incident.reference}/"
    eng = api("engineer").get(url)
    assert eng["ETag"] == f'"{incident.version}"'
    assert eng.json()["available_transitions"] == []
    assert api("executive").get(url).json()["available_transitions"] == []
    assert api("admin").get(url).status_code == 200
    assert api("engineer").get(f"{URL}INC-2020-9999/").status_code == 404


def test_legal_sees_refer_and_close_as_runnable_with_payload(api, incident_in, users):
    incident = incident_in("restored")
    body = api("legal").get(f"{URL}{incident.reference}/").json()
    # A high incident closes on a finished post-incident review, which no payload gives.
    assert body["available_transitions"] == ["refer"]
    finish_review(incident, users["engineer"])
    body = api("legal").get(f"{URL}{incident.reference}/").json()
    assert body["available_transitions"] == ["refer", "close"]


def test_patch_edits_scope_and_records_the_change(api, incident_in):
    incident = incident_in("scoping")
    r = api("engineer").patch(
        f"{URL}{incident.reference}/",
        {
            "attack_vector": "malware",
            "affected_systems": [{"name": "erp", "hosting": "provider"}],
            "affected_subjects_estimate": 5,
            "data_categories": ["usage", "contact", "usage"],
        },
        format="json",
        HTTP_IF_MATCH=f'"{incident.version}"',
    )
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["version"] == incident.version + 1 and r["ETag"] == f'"{body["version"]}"'
    assert body["data_categories"] == ["contact", "usage"]
    # The scope is written; the runbook's required tasks (malware's among them) still gate.
    assert body["available_transitions"] == ["dismiss"]
    assert body["blocked_transitions"] == {"start_restoration": ["tasks"]}
    event = incident.events.last()
    assert event.kind == "updated"
    added = incident.tasks.filter(step__attack_vector="malware")
    assert {t["id"] for t in event.data["tasks_added"]} == set(added.values_list("id", flat=True))


@pytest.mark.parametrize(
    "field",
    ["state", "reference", "version", "restored_at", "closed_at", "reporter", "no_referral_reason"],
)
def test_patch_refuses_lifecycle_fields(api, incident_in, field):
    incident = incident_in("detected")
    r = api("engineer").patch(
        f"{URL}{incident.reference}/", {field: "2026-01-01T00:00:00Z"}, format="json"
    )
    assert r.status_code == 400 and field in r.json()


def test_patch_with_stale_if_match_is_412_and_changes_nothing(api, incident_in):
    incident = incident_in("detected")
    url = f"{URL}{incident.reference}/"
    r = api("engineer").patch(url, {"title": "A"}, format="json", HTTP_IF_MATCH='"0"')
    assert r.status_code == 412 and r.json()["version"] == 1
    assert api("engineer").get(url).json()["title"] == "Leaked backup"
    assert (
        api("engineer").patch(url, {"title": "A"}, format="json", HTTP_IF_MATCH="junk").status_code
        == 400
    )
    assert (
        api("engineer").patch(url, {"title": "A"}, format="json", HTTP_IF_MATCH='W/"1"').status_code
        == 200
    )


def test_patch_aware_before_detected_is_refused(api, incident_in):
    incident = incident_in("detected", detected_at="2026-03-01T00:00:00Z")
    r = api("legal").patch(
        f"{URL}{incident.reference}/", {"aware_at": "2026-02-01T00:00:00Z"}, format="json"
    )
    assert r.status_code == 400 and "aware_at" in r.json()


def test_patch_detection_after_a_referral_was_submitted_is_refused(api, incident_in):
    incident = incident_in("restored", detected_at="2026-03-01T00:00:00Z")
    url = f"{URL}{incident.reference}/"
    referred = api("legal").post(
        f"{url}transitions/refer/",
        {"authority": "cyber_police", "submitted_at": "2026-03-05T00:00:00Z"},
        format="json",
    )
    assert referred.status_code == 200, referred.json()
    later = {"detected_at": "2026-03-10T00:00:00Z", "aware_at": "2026-03-10T00:00:00Z"}
    r = api("engineer").patch(url, later, format="json")
    assert (
        r.status_code == 400
        and "submitted_at (2026-03-05T03:30+03:30)" in r.json()["detected_at"][0]
    )
    assert api("engineer").get(url).json()["detected_at"] == "2026-03-01T03:30:00+03:30"
    earlier = {"detected_at": "2026-03-04T00:00:00Z", "aware_at": "2026-03-04T00:00:00Z"}
    assert api("engineer").patch(url, earlier, format="json").status_code == 200


def test_executive_cannot_edit(api, incident_in):
    incident = incident_in("detected")
    assert (
        api("executive")
        .patch(f"{URL}{incident.reference}/", {"title": "x"}, format="json")
        .status_code
        == 403
    )


def test_closed_incident_cannot_be_edited(api, incident_in):
    incident = incident_in("closed")
    r = api("engineer").patch(f"{URL}{incident.reference}/", {"title": "x"}, format="json")
    assert r.status_code == 409 and r.json()["state"] == "closed"


def test_commander_must_be_an_engineer_or_admin(api, incident_in):
    incident = incident_in("detected")
    url = f"{URL}{incident.reference}/"
    assert api("engineer").patch(url, {"commander": "executive"}, format="json").status_code == 400
    r = api("engineer").patch(url, {"commander": "admin"}, format="json")
    assert r.status_code == 200 and r.json()["commander"] == "admin"


def test_token_endpoint(db, users):
    from rest_framework.test import APIClient

    client = APIClient()
    r = client.post(
        "/api/auth/token/",
        {"username": "engineer", "password": "correct-horse-battery-staple"},
        format="json",
    )
    assert r.status_code == 200 and len(r.json()["token"]) == 40
    bad = client.post(
        "/api/auth/token/", {"username": "engineer", "password": "nope"}, format="json"
    )
    assert bad.status_code == 400
    ok = client.get(URL, HTTP_AUTHORIZATION=f"Token {r.json()['token']}")
    assert ok.status_code == 200


def test_token_requests_are_throttled_per_address_whatever_x_forwarded_for_says(db, users):
    from rest_framework.test import APIClient

    client = APIClient()
    answers = [
        client.post(
            "/api/auth/token/",
            {"username": f"someone-{i}", "password": "nope"},  # a new name each time
            format="json",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{i}",  # and a new forged address
        )
        for i in range(11)  # LOGIN_ADDRESS_FAILURES_BEFORE_DELAY: 10
    ]
    assert [a.status_code for a in answers] == [400] * 10 + [429]
    assert answers[-1].json()["retry_after"] == int(answers[-1].headers["Retry-After"]) >= 1


def test_schema_and_docs_are_served(api, users):
    schema = api("engineer").get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/incidents/{reference}/transitions/{name}/" in schema.content
    browser = Client()
    browser.force_login(users["executive"])
    docs = browser.get("/api/docs/")
    assert docs.status_code == 200
    # Swagger UI comes from the drf-spectacular-sidecar package, served by us: no CDN.
    scripts = re.findall(r'<script src="([^"]+)"', docs.content.decode())
    assert scripts and all(src.startswith("/") for src in scripts)
    for src in scripts:
        assert browser.get(src).status_code == 200, src


def test_schema_and_docs_are_for_signed_in_users_only():
    assert client_for(None).get("/api/schema/").status_code == 401  # YAML by default
    schema = client_for(None).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 401
    assert "detail" in json.loads(schema.content)
    docs = Client().get("/api/docs/")
    assert docs.status_code == 302
    assert docs["Location"] == "/login/?next=/api/docs/"
