"""Monitoring opens and follows incidents (issue 22 §3 inbound): Alertmanager's and Grafana's
own example bodies (tests/incidents/payloads/), the generic shape, dedup by fingerprint,
resolved alerts, closed incidents, the key as the only credential, bad bodies, the command."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections
from django.utils import translation
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from incidents.integrations import add_integration, key_digest, path_of, receive_alerts
from incidents.lifecycle import apply_transition, commander_candidates
from incidents.models import Event, Incident, IncomingAlert, Integration
from tests.incidents.test_concurrency import race

PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


def post(path: str, body: Any, **extra: Any) -> Any:
    return APIClient().post(path, body, format="json", **extra)


@pytest.fixture
def alertmanager(db: Any) -> tuple[Integration, str]:
    integration, key = add_integration("Prometheus prod", kind="alertmanager")
    return integration, path_of(key)


@pytest.fixture
def generic(db: Any) -> tuple[Integration, str]:
    integration, key = add_integration("Backup script", kind="generic", default_severity="medium")
    return integration, path_of(key)


def resolved(body: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    body["status"] = "resolved"
    for alert in body["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2023-02-06T14:00:00Z"
    return body


def test_alertmanager_alert_opens_a_critical_incident_logged_by_the_integration(alertmanager):
    integration, path = alertmanager
    answer = post(path, payload("alertmanager_v4.json"))
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "opened": [Incident.objects.get().reference],
        "repeated": 0,
        "resolved": 0,
        "ignored": 0,
    }
    incident = Incident.objects.get()
    assert incident.severity == "critical"
    assert incident.title == "ProbeFailure: BlackBox Probe Failure: https://server.example.org"
    assert "has been down for over 5m" in incident.summary
    assert "job=http_checks" in incident.summary
    assert incident.detected_at.isoformat().startswith("2023-02-06T13:08:45")
    assert incident.reporter == integration.account
    created = Event.objects.get(kind="created")
    assert created.actor_username == "integration-prometheus-prod"
    assert created.data["source"] == {
        "integration": {"id": integration.pk, "name": "Prometheus prod"},
        "alert": "ProbeFailure",
        "fingerprint": "1a30ba71cca2921f",
    }
    alert = IncomingAlert.objects.get()
    assert (alert.fingerprint, alert.is_open, alert.incident) == (
        "1a30ba71cca2921f",
        True,
        incident,
    )
    integration.refresh_from_db()
    assert integration.last_received_at is not None


def test_grafana_example_opens_one_incident_per_alert_with_the_default_severity(db):
    integration, key = add_integration("Grafana", kind="grafana", default_severity="low")
    answer = post(path_of(key), payload("grafana.json"))
    assert answer.status_code == 200, answer.content
    assert len(answer.json()["opened"]) == 2
    titles = set(Incident.objects.values_list("title", "severity"))
    assert titles == {
        ("High memory usage: This alert was triggered for zone us-1", "low"),
        ("High CPU usage: This alert was triggered for zone eu-1", "low"),
    }
    assert set(IncomingAlert.objects.values_list("fingerprint", flat=True)) == {
        "c6eadffa33fcdf37",
        "bc97ff14869b13e3",
    }


def test_repeat_alert_adds_to_the_open_incident_instead_of_a_new_one(alertmanager, settings):
    settings.INTEGRATION_REPEAT_NOTE_MINUTES = 0
    _integration, path = alertmanager
    post(path, payload("alertmanager_v4.json"))
    answer = post(path, payload("alertmanager_v4.json"))
    assert answer.json() == {"opened": [], "repeated": 1, "resolved": 0, "ignored": 0}
    assert Incident.objects.count() == 1
    repeated = Event.objects.get(kind="alert.repeated")
    assert repeated.incident == Incident.objects.get()
    assert repeated.data["repeats"] == 1
    assert repeated.data["alert"] == "ProbeFailure"
    assert IncomingAlert.objects.get().repeats == 1


def test_a_burst_of_repeats_is_counted_without_flooding_the_timeline(alertmanager, settings):
    settings.INTEGRATION_REPEAT_NOTE_MINUTES = 30
    _integration, path = alertmanager
    for _ in range(6):
        assert post(path, payload("alertmanager_v4.json")).status_code == 200
    assert not Event.objects.filter(kind="alert.repeated").exists()
    assert IncomingAlert.objects.get().repeats == 5
    # Once the interval has passed, one note stands for every repeat since the last one.
    settings.INTEGRATION_REPEAT_NOTE_MINUTES = 0
    post(path, payload("alertmanager_v4.json"))
    assert list(
        Event.objects.filter(kind="alert.repeated").values_list("data__repeats", flat=True)
    ) == [6]


def test_resolved_alert_is_noted_on_the_timeline_and_the_incident_stays_open(alertmanager):
    _integration, path = alertmanager
    post(path, payload("alertmanager_v4.json"))
    answer = post(path, resolved(payload("alertmanager_v4.json")))
    assert answer.json() == {"opened": [], "repeated": 0, "resolved": 1, "ignored": 0}
    incident = Incident.objects.get()
    assert incident.state == "detected"
    event = Event.objects.get(kind="alert.resolved")
    assert (event.incident, event.data["fingerprint"]) == (incident, "1a30ba71cca2921f")
    alert = IncomingAlert.objects.get()
    assert not alert.is_open
    assert alert.resolved_at.isoformat().startswith("2023-02-06T14:00")
    # Resolved twice (Alertmanager repeats a resolved group): nothing more on the timeline.
    again = post(path, resolved(payload("alertmanager_v4.json")))
    assert again.json()["ignored"] == 1
    assert Event.objects.filter(kind="alert.resolved").count() == 1


def test_alert_firing_after_it_resolved_opens_a_new_incident(alertmanager):
    _integration, path = alertmanager
    first = post(path, payload("alertmanager_v4.json")).json()["opened"]
    post(path, resolved(payload("alertmanager_v4.json")))
    second = post(path, payload("alertmanager_v4.json")).json()["opened"]
    assert len(first) == len(second) == 1 and first != second
    assert IncomingAlert.objects.filter(is_open=True).get().incident.reference == second[0]


def test_alert_of_a_dismissed_incident_firing_again_opens_a_new_one(alertmanager, users):
    _integration, path = alertmanager
    [reference] = post(path, payload("alertmanager_v4.json")).json()["opened"]
    apply_transition(
        reference, "dismiss", actor=users["engineer"], payload={"reason": "A test probe."}
    )
    answer = post(path, payload("alertmanager_v4.json")).json()
    assert len(answer["opened"]) == 1 and answer["opened"] != [reference]
    assert IncomingAlert.objects.filter(is_open=True).count() == 1
    assert IncomingAlert.objects.get(incident__reference=reference).is_open is False


def test_generic_alert_without_fingerprint_is_told_apart_by_its_title(generic):
    _integration, path = generic
    body = {"title": "Backups failing", "summary": "3 nights in a row"}
    opened = post(path, body).json()["opened"]
    assert post(path, body).json()["repeated"] == 1
    incident = Incident.objects.get(reference=opened[0])
    assert (incident.severity, incident.summary) == ("medium", "3 nights in a row")
    done = post(path, {"title": "Backups failing", "status": "resolved"}).json()
    assert done["resolved"] == 1


def test_generic_severity_words_map_to_the_projects_severities(generic):
    _integration, path = generic
    words = {"page": "critical", "error": "high", "warning": "medium", "info": "low"}
    body = {"alerts": [{"title": f"t-{word}", "severity": word} for word in words]}
    assert len(post(path, body).json()["opened"]) == 4
    got = dict(Incident.objects.values_list("title", "severity"))
    assert got == {f"t-{word}": severity for word, severity in words.items()}


def test_alert_without_fingerprint_gets_a_stable_one_from_its_labels(alertmanager):
    _integration, path = alertmanager
    body = payload("alertmanager_v4.json")
    del body["alerts"][0]["fingerprint"]
    shuffled = copy.deepcopy(body)
    shuffled["alerts"][0]["labels"] = dict(reversed(list(body["alerts"][0]["labels"].items())))
    assert len(post(path, body).json()["opened"]) == 1
    assert post(path, shuffled).json()["repeated"] == 1


@pytest.mark.parametrize(
    "key",
    ["not-a-key", "x" * 300, "%20", "..%2F..%2Fincidents"],
    ids=["wrong", "long", "sp", "dot"],
)
def test_unknown_key_is_a_404_and_writes_nothing(alertmanager, key):
    answer = post(f"/api/integrations/{key}/alerts/", payload("alertmanager_v4.json"))
    assert answer.status_code == 404
    assert "detail" in answer.json()
    assert not Incident.objects.exists()


def test_switched_off_integration_answers_404_like_an_unknown_key(alertmanager):
    integration, path = alertmanager
    Integration.objects.filter(pk=integration.pk).update(active=False)
    assert post(path, payload("alertmanager_v4.json")).status_code == 404
    assert not Incident.objects.exists()


def test_post_needs_no_session_or_csrf_token(alertmanager):
    _integration, path = alertmanager
    client = APIClient(enforce_csrf_checks=True)
    answer = client.post(path, payload("alertmanager_v4.json"), format="json")
    assert answer.status_code == 200


def test_body_that_is_not_json_is_a_415(alertmanager):
    _integration, path = alertmanager
    answer = APIClient().post(path, "alertname=x", content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 415
    assert not Incident.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        [],
        "firing",
        {"alerts": "none"},
        {"alerts": [{"status": "burning"}]},
        {"alerts": [{"status": "firing", "labels": {"a": {"nested": 1}}}]},
        {"alerts": [{"status": "firing", "labels": {"severity": "critical"}}, {"labels": 3}]},
        {"alerts": [{"status": "firing", "fingerprint": "f" * 201}]},
        {"alerts": [{"status": "firing", "labels": {"a\u0000b": "x"}}]},
        {"alerts": [{"status": "firing", "annotations": {"summary": "a\u0000b"}}]},
        {"alerts": [{"status": "firing", "startsAt": 1700000000}]},
    ],
    ids=[
        "list",
        "string",
        "alerts-string",
        "status",
        "nested-label",
        "one-bad",
        "long-fp",
        "nul-key",
        "nul-text",
        "number-time",
    ],
)
def test_malformed_body_is_a_400_and_nothing_is_written(alertmanager, body):
    _integration, path = alertmanager
    answer = post(path, body)
    assert answer.status_code == 400, answer.content
    assert answer.json()["detail"]
    assert not Incident.objects.exists() and not IncomingAlert.objects.exists()


def test_malformed_json_is_a_400(alertmanager):
    _integration, path = alertmanager
    answer = APIClient().post(path, '{"alerts": [', content_type="application/json")
    assert answer.status_code == 400


def test_generic_firing_alert_needs_a_title(generic):
    _integration, path = generic
    answer = post(path, {"severity": "critical", "fingerprint": "x"})
    assert answer.status_code == 400
    assert "title" in json.dumps(answer.json()["errors"])


def test_more_than_100_alerts_in_one_request_is_a_413_and_nothing_is_written(generic):
    _integration, path = generic
    body = {"alerts": [{"title": f"alert {n}"} for n in range(101)]}
    answer = post(path, body)
    assert answer.status_code == 413
    assert answer.json()["max_alerts"] == 100
    assert not Incident.objects.exists()


def test_zero_time_and_future_start_do_not_break_detection(alertmanager):
    _integration, path = alertmanager
    body = payload("alertmanager_v4.json")
    body["alerts"][0]["startsAt"] = "2999-01-01T00:00:00Z"
    body["alerts"].append(
        {**body["alerts"][0], "fingerprint": "b", "startsAt": "0001-01-01T00:00:00Z"}
    )
    assert len(post(path, body).json()["opened"]) == 2
    for incident in Incident.objects.all():
        assert incident.detected_at <= incident.aware_at
    # Alertmanager writes nanoseconds (Go's RFC 3339): read to the microsecond.
    body["alerts"] = [{**body["alerts"][0], "fingerprint": "c"}]
    body["alerts"][0]["startsAt"] = "2018-08-03T09:52:26.739266876+02:00"
    [reference] = post(path, body).json()["opened"]
    detected = Incident.objects.get(reference=reference).detected_at
    assert detected.isoformat(timespec="microseconds").endswith("07:52:26.739266+00:00")


def test_alert_events_are_worded_on_the_timeline(alertmanager, settings):
    from incidents.labels import EVENT_LABELS
    from incidents.legal.dossier_timeline import Names, details

    settings.INTEGRATION_REPEAT_NOTE_MINUTES = 0
    _integration, path = alertmanager
    post(path, payload("alertmanager_v4.json"))
    post(path, payload("alertmanager_v4.json"))
    names = Names(evidence={}, obligations={})
    for event in Event.objects.filter(kind__in=["created", "alert.repeated"]):
        with translation.override("en"):
            worded = list(details(event.kind, event.data, names))
        assert ("Integration", "Prometheus prod") in worded
    assert "alert.repeated" in EVENT_LABELS and "alert.resolved" in EVENT_LABELS


def test_incident_page_says_which_integration_opened_it(alertmanager, client, users, settings):
    settings.INTEGRATION_REPEAT_NOTE_MINUTES = 0
    _integration, path = alertmanager
    [reference] = post(path, payload("alertmanager_v4.json")).json()["opened"]
    post(path, payload("alertmanager_v4.json"))
    post(path, resolved(payload("alertmanager_v4.json")))
    client.force_login(users["engineer"])
    page = client.get(f"/incidents/{reference}/", HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert page.status_code == 200
    assert "integration-prometheus-prod" in text and "Prometheus prod" in text
    assert "Alert firing again" in text and "Alert resolved at its source" in text


def test_service_account_logs_incidents_but_is_no_commander_candidate(alertmanager):
    integration, _path = alertmanager
    assert not integration.account.has_usable_password()
    assert integration.account not in commander_candidates()


def test_add_integration_command_prints_a_path_that_works(db):
    out = StringIO()
    call_command("add_integration", "Alertmanager EU", "--kind", "alertmanager", stdout=out)
    text = out.getvalue()
    [path] = [word for word in text.split() if word.startswith("/api/integrations/")]
    assert "webhook_configs:" in text and "max_alerts: 100" in text
    integration = Integration.objects.get(name="Alertmanager EU")
    assert path.split("/")[3] not in integration.key_digest
    assert post(path, payload("alertmanager_v4.json")).status_code == 200
    assert Incident.objects.count() == 1


def test_rotating_the_key_stops_the_old_url(db):
    out = StringIO()
    call_command("add_integration", "Grafana", "--kind", "grafana", "--severity", "low", stdout=out)
    [old] = [w for w in out.getvalue().split() if w.startswith("/api/integrations/")]
    out = StringIO()
    call_command("add_integration", "Grafana", "--rotate", stdout=out)
    [new] = [w for w in out.getvalue().split() if w.startswith("/api/integrations/")]
    assert "Contact points" in out.getvalue()
    assert post(old, payload("grafana.json")).status_code == 404
    assert post(new, payload("grafana.json")).status_code == 200


def test_admin_adding_an_integration_shows_its_url_once(client, users):
    client.force_login(users["admin"])
    answer = client.post(
        "/admin/incidents/integration/add/",
        {"name": "Zabbix", "kind": "generic", "default_severity": "high", "active": "on"},
        follow=True,
    )
    assert answer.status_code == 200
    shown = " ".join(str(m) for m in answer.context["messages"])
    path = re.search(r"/api/integrations/[^/\s]+/alerts/", shown).group()
    integration = Integration.objects.get(name="Zabbix")
    assert integration.account is not None and integration.created_by == users["admin"]
    assert post(path, {"title": "Disk full"}).status_code == 200
    listing = client.get("/admin/incidents/integration/")
    assert listing.status_code == 200 and path not in listing.content.decode()
    change = client.get(f"/admin/incidents/integration/{integration.pk}/change/")
    assert change.status_code == 200 and path not in change.content.decode()
    assert client.get("/admin/incidents/incomingalert/").status_code == 200


def test_admin_action_issues_a_new_key_and_the_old_url_stops(client, users, generic):
    integration, old = generic
    client.force_login(users["admin"])
    answer = client.post(
        "/admin/incidents/integration/",
        {"action": "issue_new_key", "_selected_action": [integration.pk]},
        follow=True,
    )
    shown = " ".join(str(m) for m in answer.context["messages"])
    new = re.search(r"/api/integrations/[^/\s]+/alerts/", shown).group()
    assert new != old
    assert post(old, {"title": "Disk full"}).status_code == 404
    assert post(new, {"title": "Disk full"}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_racing_posts_of_one_new_fingerprint_open_one_incident(require_postgres):
    integration, key = add_integration("Racing", kind="alertmanager")
    body = payload("alertmanager_v4.json")
    for round_ in range(4):
        body["alerts"][0]["fingerprint"] = f"race-{round_}"
        results = race([lambda: receive_alerts(integration, body) for _ in range(4)])
        assert not [r for r in results if isinstance(r, Exception)], results
        counts = Counter()
        for result in results:
            counts["opened"] += len(result.opened)
            counts["repeated"] += result.repeated
        assert counts == {"opened": 1, "repeated": 3}
    assert Incident.objects.count() == 4
    assert IncomingAlert.objects.filter(is_open=True).count() == 4
    connections.close_all()


LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
TEXTS = st.text(max_size=30) | st.sampled_from(["", "0001-01-01T00:00:00Z", "2024-13-40T25:61"])
ALERT = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["firing", "resolved"]) | JSON,
        "labels": st.dictionaries(st.text(max_size=10), TEXTS | JSON, max_size=4) | JSON,
        "annotations": st.dictionaries(st.sampled_from(["summary", "description"]), TEXTS),
        "startsAt": TEXTS | JSON,
        "endsAt": TEXTS,
        "fingerprint": TEXTS | JSON,
        "title": TEXTS | JSON,
        "severity": TEXTS | JSON,
    },
)
BODIES = JSON | st.fixed_dictionaries({"alerts": st.lists(ALERT, max_size=3) | JSON}) | ALERT


@pytest.mark.parametrize("kind", ["alertmanager", "generic"])
@hyp_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=BODIES)
def test_random_bodies_get_an_answer_never_a_500(db, kind, body):
    integration = Integration.objects.filter(kind=kind).first()
    if integration is None:
        integration, _key = add_integration(f"fuzz {kind}", kind=kind)
    key = "fuzz"
    Integration.objects.filter(pk=integration.pk).update(key_digest=key_digest(key))
    raw = json.dumps(body)
    answer = APIClient().post(path_of(key), raw, content_type="application/json")
    assert answer.status_code in (200, 400, 413), answer.content
    assert isinstance(answer.json(), dict)
