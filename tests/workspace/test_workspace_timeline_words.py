"""The timeline in words for the workspace's events, on the page and in the dossier: a runbook
task by its title in the reader's language, the runbook tasks a phase brought ("3 runbook
tasks added: …"), a status update's text."""

from __future__ import annotations

import pytest
from django.utils import translation

from incidents.legal.dossier_timeline import Names, timeline
from incidents.workspace.tasks import set_task_done
from incidents.workspace.updates import post_update
from tests.frontend.helpers import browser

pytestmark = pytest.mark.django_db

PRESERVE_FA = "پیش از هر تغییری، لاگ‌ها و اسنپ‌شات‌ها را حفظ کنید"
PRESERVE_EN = "Preserve logs and snapshots before anything is changed"


def _timeline_html(client, incident) -> str:
    html = client.get(f"/incidents/{incident.reference}/").content.decode()
    return html.split('id="timeline"')[1].split("</ol>")[0]


def _dossier_rows(incident, language: str) -> list:
    events = list(incident.events.order_by("seq"))
    with translation.override(language):
        names = Names.of(incident.evidence.all(), incident.obligations.all(), events)
        return list(timeline(events, names))


def _preserve_task(incident):
    return incident.tasks.get(step__required=True, step__attack_vector="", phase="scoping")


def test_persian_page_names_a_done_runbook_task_in_persian(users, incident_in):
    incident = incident_in("scoping")
    set_task_done(_preserve_task(incident), actor=users["engineer"])
    html = _timeline_html(browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="fa"), incident)
    assert f"<bdi>{PRESERVE_FA}</bdi>" in html
    assert PRESERVE_EN not in html


def test_the_page_says_how_many_runbook_tasks_a_phase_added(users, incident_in):
    incident = incident_in("scoping")
    added = incident.events.get(kind="start_scoping").data["tasks_added"]
    html = _timeline_html(browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en"), incident)
    assert f"{len(added)} runbook tasks added: " in html
    assert PRESERVE_EN in html


def test_persian_dossier_names_runbook_tasks_in_persian(users, incident_in):
    incident = incident_in("scoping")
    set_task_done(_preserve_task(incident), actor=users["engineer"])
    rows = _dossier_rows(incident, "fa")
    scoping = next(r for r in rows if any(PRESERVE_FA in value for _, value in r.details))
    assert scoping.move  # the transition's own row
    done = rows[-1]
    assert PRESERVE_FA in [value for _, value in done.details]
    assert not any(PRESERVE_EN in value for row in rows for _, value in row.details)


def test_the_dossier_timeline_gives_a_status_update_whole(users, incident_in):
    incident = incident_in("scoping")
    body = "We know: one mailbox.\nImpact: none yet.\nNext: rotate credentials."
    post_update(incident, actor=users["engineer"], body=body)
    row = _dossier_rows(incident, "en")[-1]
    assert ("Status update", body) in row.details


def test_the_page_shows_a_status_update_once(users, incident_in):
    incident = incident_in("scoping")
    post_update(incident, actor=users["engineer"], body="Only once, please")
    html = _timeline_html(browser(users["engineer"], HTTP_ACCEPT_LANGUAGE="en"), incident)
    assert html.count("Only once, please") == 1
