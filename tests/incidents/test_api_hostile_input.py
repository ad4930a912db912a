"""Input a fuzzing pass found to end in a 500 or in a silently wrong record: each is now a clear
JSON 4xx, and nothing is written."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from incidents.models import Event, Incident

pytestmark = pytest.mark.django_db

URL = "/api/incidents/"
BODY = {"title": "t", "severity": "low"}


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    """The messages checked here are the English ones (the API answers in Persian by default)."""
    settings.LANGUAGE_CODE = "en"


def raw(client: Any, method: str, url: str, body: str | bytes, **headers: Any) -> Any:
    return client.generic(method, url, body, content_type="application/json", **headers)


def refused(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert "detail" in body or status == 400, body
    return body


def writes() -> tuple[int, int]:
    return Event.objects.count(), Incident.objects.count()


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00Z",
        "0600-06-01T00:00:00Z",  # before the Jalali calendar's year 1
        "1999-12-31T23:59:59Z",
        "9999-12-30T00:00:00Z",  # deadlines 72 h later would overflow
        "0001-01-01T00:00:00",  # naive: DRF overflowed making it aware in Asia/Tehran
    ],
)
def test_implausible_moments_are_refused_everywhere_a_person_gives_one(api, incident_in, moment):
    engineer, legal = api("engineer"), api("legal")
    incident = incident_in("restored")
    referral = legal.post(
        f"{URL}{incident.reference}/referrals/", {"authority": "cyber_police"}, format="json"
    ).json()
    before = writes()
    body = {**BODY, "data_categories": ["identity"]}
    for key in ("detected_at", "aware_at"):
        assert key in refused(engineer.post(URL, {**body, key: moment}, format="json"))
    patch = engineer.patch(f"{URL}{incident.reference}/", {"aware_at": moment}, format="json")
    assert "aware_at" in refused(patch)
    refer = legal.post(
        f"{URL}{incident.reference}/transitions/refer/",
        {"authority": "cyber_police", "submitted_at": moment},
        format="json",
    )
    assert "submitted_at" in refused(refer)
    submit = legal.post(
        f"/api/referrals/{referral['id']}/transitions/submit/", {"at": moment}, format="json"
    )
    assert "at" in refused(submit)
    assert writes() == before


def test_a_detection_in_the_future_is_refused_but_clock_skew_is_not(api):
    engineer = api("engineer")
    later = timezone.now() + dt.timedelta(days=2)
    assert "detected_at" in refused(
        engineer.post(URL, {**BODY, "detected_at": later.isoformat()}, format="json")
    )
    skew = timezone.now() + dt.timedelta(minutes=5)
    ok = engineer.post(URL, {**BODY, "detected_at": skew.isoformat()}, format="json")
    assert ok.status_code == 201


def test_awareness_alone_sets_detection_to_the_same_moment(api):
    created = api("engineer").post(URL, {**BODY, "aware_at": "2026-01-01T08:00:00Z"}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["detected_at"] == created.json()["aware_at"]


def test_obligations_due_before_a_naive_year_one_is_a_400(api):
    response = api("legal").get("/api/obligations/", {"due_before": "0001-01-01T00:00:00"})
    assert "due_before" in refused(response)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", "/api/auth/token/"),
        ("POST", URL),
        ("POST", f"{URL}INC-2026-0001/transitions/start_scoping/"),
    ],
)
def test_json_nested_too_deeply_is_a_400_not_a_500(api, incident_in, method, url):
    incident_in("detected")
    before = writes()
    body = refused(raw(api("engineer"), method, url, "[" * 5000 + "]" * 5000))
    assert "nested too deeply" in body["detail"]
    assert writes() == before


@pytest.mark.parametrize(
    "body",
    [
        '{"title": "x", "severity": "\\ud800"}',
        '{"title": "x\\udfff", "severity": "low"}',
        '{"title": "x", "severity": "low", "\\ud800": 1}',
        '{"title": "x", "severity": "low", "data_categories": ["\\ud800"]}',
    ],
)
def test_a_lone_surrogate_is_a_400_not_a_500(api, body):
    before = writes()
    assert "surrogate" in refused(raw(api("engineer"), "POST", URL, body))["detail"]
    assert writes() == before


@pytest.mark.parametrize("tag", ['"²"', '"١"', '"' + "9" * 5000 + '"', '"' + "1" * 19 + '"'])
def test_if_match_that_is_no_version_is_a_400(api, incident_in, tag):
    incident = incident_in("detected")
    response = api("engineer").patch(
        f"{URL}{incident.reference}/", {"title": "y"}, format="json", HTTP_IF_MATCH=tag
    )
    assert "If-Match" in refused(response)["detail"]
    incident.refresh_from_db()
    assert incident.version == 1


def test_handing_over_an_evidence_id_beyond_any_integer_column_is_a_400(api, incident_in):
    incident = incident_in("restored")
    referral = api("legal").post(
        f"{URL}{incident.reference}/referrals/", {"authority": "cyber_police"}, format="json"
    )
    url = f"/api/referrals/{referral.json()['id']}/evidence/"
    for huge in (2**63, 2**70):
        assert "evidence" in refused(api("legal").post(url, {"evidence": [huge]}, format="json"))


@pytest.mark.parametrize(
    ("field", "value"), [("title", "1e400"), ("title", "12"), ("summary", "true")]
)
def test_a_number_where_text_belongs_is_refused_not_stored_as_text(api, field, value):
    body = '{"title": "t", "severity": "low", "' + field + '": ' + value + "}"  # last one wins
    assert field in refused(raw(api("engineer"), "POST", URL, body))


def test_a_number_as_a_reason_does_not_dismiss(api, incident_in):
    incident = incident_in("detected")
    url = f"{URL}{incident.reference}/transitions/dismiss/"
    assert "reason" in refused(api("engineer").post(url, {"reason": 0}, format="json"))
    incident.refresh_from_db()
    assert incident.state == "detected"


@pytest.mark.parametrize("body", ["[]", "false", "null", "0", '""'])
def test_a_transition_body_that_is_not_an_object_is_refused(api, incident_in, body):
    incident = incident_in("detected")
    url = f"{URL}{incident.reference}/transitions/start_scoping/"
    refused(raw(api("engineer"), "POST", url, body))
    incident.refresh_from_db()
    assert incident.state == "detected"


def test_an_empty_transition_body_still_means_no_payload(api, incident_in):
    incident = incident_in("detected")
    url = f"{URL}{incident.reference}/transitions/start_scoping/"
    assert raw(api("engineer"), "POST", url, "").status_code == 200


def test_unknown_keys_inside_an_affected_system_are_refused(api, incident_in):
    incident = incident_in("scoping")
    systems = [{"name": "shop-db", "hosting": "own", "owner": "ops"}]
    response = api("engineer").patch(
        f"{URL}{incident.reference}/", {"affected_systems": systems}, format="json"
    )
    assert "affected_systems" in refused(response)


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize(
    "path",
    [
        "/api/nonexistent/",
        "/api/",
        "/api/incidents/inc-2026-0001/",
        "/api/incidents/INC-2026-0001.json/",
        "/api/referrals/abc/",
    ],
)
def test_unknown_api_urls_answer_json_404(api, settings, debug, path):
    settings.DEBUG = debug
    assert refused(api("engineer").get(path), 404)["detail"].startswith("Not found")


@pytest.mark.parametrize("debug", [False, True])
def test_a_write_without_the_trailing_slash_is_a_404_naming_the_url_not_a_lost_redirect(
    api, incident_in, settings, debug
):
    settings.DEBUG = debug
    incident = incident_in("detected")
    before = writes()
    create = refused(api("engineer").post("/api/incidents", BODY, format="json"), 404)
    assert create["detail"] == "Not found. API URLs end with a slash: /api/incidents/"
    patch = api("engineer").patch(f"{URL}{incident.reference}", {"title": "y"}, format="json")
    assert refused(patch, 404)["detail"].endswith(f"{URL}{incident.reference}/")
    assert writes() == before
    # Reads still redirect: nothing can be lost.
    assert api("engineer").get("/api/incidents").status_code == 301


def test_a_host_that_is_not_allowed_gets_a_json_400_under_api(api):
    response = api("engineer").get(URL, HTTP_HOST="evil.example")
    assert refused(response)["detail"] == "Bad request."
