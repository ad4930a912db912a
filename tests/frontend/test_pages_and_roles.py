"""Every page for every role: who may open what, who sees write controls, who is refused."""

from __future__ import annotations

import re

import pytest

from incidents.models import Event
from tests.frontend.helpers import browser

ROLES = ("engineer", "legal", "executive", "admin")
PAGES = ("/", "/incidents/", "/profile/")


@pytest.mark.django_db
@pytest.mark.parametrize("path", [*PAGES, "/incidents/INC-2026-0001/"])
def test_anonymous_visitor_is_sent_to_login(path):
    response = browser().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("role", ROLES)
def test_every_role_opens_every_page(users, incident_in, role):
    incident = incident_in("restored")
    client = browser(users[role])
    for path in (*PAGES, f"/incidents/{incident.reference}/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert b"<html" in response.content


def test_account_without_role_is_refused_with_403(users, incident_in):
    incident = incident_in("detected")
    client = browser(users["norole"])
    assert client.get("/").status_code == 403
    assert client.get(f"/incidents/{incident.reference}/").status_code == 403


def test_executive_sees_no_write_controls(users, incident_in):
    incident = incident_in("scoping")
    html = browser(users["executive"]).get(f"/incidents/{incident.reference}/").content.decode()
    assert "/transitions/" not in html
    assert "/edit/" not in html
    assert "incidents/new/" not in browser(users["executive"]).get("/incidents/").content.decode()


def test_executive_is_refused_by_the_server_even_without_buttons(users, incident_in):
    incident = incident_in("scoping")
    client = browser(users["executive"])
    edit = client.post(
        f"/incidents/{incident.reference}/edit/scope/",
        {"version": incident.version, "attack_vector": "phishing"},
    )
    run = client.post(
        f"/incidents/{incident.reference}/transitions/dismiss/",
        {"version": incident.version, "reason": "x"},
    )
    create = client.post("/incidents/new/", {"title": "t", "severity": "low"})
    assert (edit.status_code, run.status_code, create.status_code) == (403, 403, 403)
    incident.refresh_from_db()
    assert incident.state == "scoping" and incident.attack_vector == ""
    assert Event.objects.filter(incident=incident).count() == 2


def test_legal_sees_only_the_transitions_legal_may_run(users, incident_in):
    incident = incident_in("restored")
    html = browser(users["legal"]).get(f"/incidents/{incident.reference}/").content.decode()
    names = set(re.findall(r"/transitions/([a-z_]+)/", html))
    # The referral itself is part of the refer form, so refer is offered, not disabled.
    assert "refer" in names and names <= {"refer", "close"}
    assert 'name="authority"' in html


def test_engineer_sees_no_legal_transitions(users, incident_in):
    incident = incident_in("restored")
    html = browser(users["engineer"]).get(f"/incidents/{incident.reference}/").content.decode()
    assert "action-refer" not in html and "action-close" not in html


def test_executive_gets_the_dossier_pdf_link_but_not_the_zip(users, incident_in):
    incident = incident_in("restored")
    html = browser(users["executive"]).get(f"/incidents/{incident.reference}/").content.decode()
    assert f'href="/api/incidents/{incident.reference}/dossier.pdf?lang=' in html
    assert "dossier.zip" not in html


def test_only_admins_see_the_administration_link(users):
    assert 'href="/admin/"' in browser(users["admin"]).get("/").content.decode()
    assert 'href="/admin/"' not in browser(users["engineer"]).get("/").content.decode()
