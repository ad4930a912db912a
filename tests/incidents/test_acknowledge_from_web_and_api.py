"""Acknowledging without Telegram: whoever works a critical incident from the page or the API
stops its escalation, as the Telegram button does (escalation used to fire on incidents engineers
were working, because only Telegram could acknowledge)."""

from __future__ import annotations

import pytest

from incidents.acknowledgements import record_escalation
from incidents.models import Event
from tests.frontend.helpers import browser


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def ack_url(incident) -> str:
    return f"/api/incidents/{incident.reference}/acknowledge/"


def test_api_acknowledge_records_once_and_stops_escalation(api, incident_in):
    incident = incident_in("scoping", severity="critical")
    first = api("engineer").post(ack_url(incident))
    assert first.status_code == 201
    assert (first.json()["kind"], first.json()["actor"]) == ("acknowledged", "engineer")
    again = api("engineer").post(ack_url(incident))
    assert again.status_code == 200
    assert "already" in again.json()["detail"]
    assert Event.objects.filter(kind="acknowledged").count() == 1
    _locked, escalation = record_escalation(incident, 1)
    assert escalation is None


@pytest.mark.parametrize("role", ["executive", "norole"])
def test_read_only_roles_may_not_acknowledge(api, incident_in, role):
    incident = incident_in("detected", severity="critical")
    assert api(role).post(ack_url(incident)).status_code == 403
    assert api(role).post("/api/incidents/INC-2026-9999/acknowledge/").status_code == 403
    assert not Event.objects.filter(kind="acknowledged").exists()


def test_an_ended_incident_has_nothing_to_acknowledge(api, incident_in):
    incident = incident_in("dismissed")
    response = api("engineer").post(ack_url(incident))
    assert response.status_code == 409
    assert "detail" in response.json()


def test_engineer_acknowledges_from_the_page_and_escalation_stops(users, incident_in):
    incident = incident_in("scoping", severity="critical")
    client = browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(f"/incidents/{incident.reference}/").content.decode()
    assert "Acknowledge: I am on it" in page
    response = client.post(f"/incidents/{incident.reference}/acknowledge/")
    assert response.status_code == 302
    page = client.get(f"/incidents/{incident.reference}/").content.decode()
    assert "Acknowledged by: <bdi>engineer</bdi>" in page
    assert "Acknowledge: I am on it" not in page
    _locked, escalation = record_escalation(incident, 1)
    assert escalation is None


def test_executive_sees_who_acknowledged_but_gets_no_button(users, api, incident_in):
    incident = incident_in("detected", severity="critical")
    api("legal").post(ack_url(incident))
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
    page = client.get(f"/incidents/{incident.reference}/").content.decode()
    assert "Acknowledged by: <bdi>legal</bdi>" in page
    assert "Acknowledge: I am on it" not in page
    assert client.post(f"/incidents/{incident.reference}/acknowledge/").status_code == 403
    assert Event.objects.filter(kind="acknowledged").count() == 1
