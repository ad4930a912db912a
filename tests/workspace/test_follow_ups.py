"""Follow-up actions of the review: added once the incident is restored, changed and marked
done or not done, also after the incident closes, each change one event; bad input is a 400;
the overdue ones are on the dashboard, for the same few queries however many there are."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.models import Event, FollowUp
from incidents.workspace.follow_ups import add_follow_up
from tests.frontend.helpers import browser

pytestmark = pytest.mark.django_db


def url(incident, pk: int | None = None) -> str:
    base = f"/api/incidents/{incident.reference}/follow-ups/"
    return base if pk is None else f"{base}{pk}/"


def in_days(days: float) -> str:
    return (timezone.now() + dt.timedelta(days=days)).isoformat()


def test_a_follow_up_is_added_and_tracked_to_done_after_the_incident_closes(api, incident_in):
    incident = incident_in("closed")
    eng = api("engineer")
    body = {"title": "Enforce MFA on the VPN", "owner": "legal", "due_at": in_days(14)}
    created = eng.post(url(incident), body, format="json")
    assert created.status_code == 201, created.json()
    item = created.json()
    assert item["owner"] == "legal" and item["done"] is False and item["version"] == 1
    assert created["ETag"] == '"1"'
    done = api("legal").patch(
        url(incident, item["id"]), {"done": True}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert done.status_code == 200, done.json()
    assert done.json()["done"] is True and done.json()["done_by"] == "legal"
    undone = eng.patch(url(incident, item["id"]), {"done": False}, format="json")
    assert undone.json()["done"] is False and undone.json()["done_at"] is None
    kinds = list(
        Event.objects.filter(incident=incident, kind__startswith="follow_up.").values_list(
            "kind", flat=True
        )
    )
    assert kinds == ["follow_up.added", "follow_up.done", "follow_up.reopened"]
    added = Event.objects.get(incident=incident, kind="follow_up.added")
    assert added.data["follow_up"]["title"] == "Enforce MFA on the VPN"
    assert added.data["changes"]["owner"] == "legal"


def test_editing_a_follow_up_names_the_changed_fields(api, incident_in):
    incident = incident_in("restored")
    item = api("engineer").post(url(incident), {"title": "Rotate keys"}, format="json").json()
    changed = api("engineer").patch(
        url(incident, item["id"]), {"title": "Rotate all keys", "note": "db, s3"}, format="json"
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    event = Event.objects.filter(incident=incident).last()
    assert event.kind == "follow_up.updated"
    assert set(event.data["changes"]) == {"title", "note"} and "db, s3" not in str(event.data)
    same = api("engineer").patch(
        url(incident, item["id"]), {"title": "Rotate all keys"}, format="json"
    )
    assert same.status_code == 200 and same.json()["version"] == 2


def test_before_restore_follow_ups_are_refused(api, incident_in):
    incident = incident_in("scoping")
    assert api("engineer").get(url(incident)).json() == []
    refused = api("engineer").post(url(incident), {"title": "x"}, format="json")
    assert refused.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "x" * 201},
        {"title": "ok", "owner": "nobody"},
        {"title": "ok", "owner": "norole"},
        {"title": "ok", "due_at": "9999-01-01T00:00:00Z"},
        {"title": "ok", "due_at": "yesterday"},
        {"title": "ok", "done": True},
        {"title": "ok", "id": 3},
        {"title": 5},
    ],
)
def test_bad_follow_ups_are_400(api, incident_in, body):
    incident = incident_in("restored")
    response = api("engineer").post(url(incident), body, format="json")
    assert response.status_code == 400, response.json()
    assert not FollowUp.objects.exists()


def test_roles_stale_versions_and_other_incidents(api, incident_in):
    incident, other = incident_in("restored"), incident_in("restored")
    item = api("engineer").post(url(incident), {"title": "Patch"}, format="json").json()
    assert api("executive").get(url(incident)).status_code == 200
    assert api("executive").post(url(incident), {"title": "x"}, format="json").status_code == 403
    assert api("executive").patch(url(incident, item["id"]), {"done": True}).status_code == 403
    stale = api("legal").patch(
        url(incident, item["id"]), {"done": True}, format="json", HTTP_IF_MATCH='"7"'
    )
    assert stale.status_code == 412
    assert api("legal").patch(url(other, item["id"]), {"done": True}).status_code == 404
    assert api("legal").patch(url(incident, 999999), {"done": True}).status_code == 404


def _overdue(incident, actor, n: int) -> None:
    past = timezone.now() - dt.timedelta(hours=1)
    for i in range(n):
        add_follow_up(incident.reference, actor=actor, title=f"Action {i}", due_at=past)


def test_overdue_follow_ups_show_on_the_dashboard_for_constant_queries(users, incident_in):
    client = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
    incident = incident_in("closed")
    _overdue(incident, users["engineer"], 2)
    add_follow_up(incident.reference, actor=users["engineer"], title="Not due yet")
    html = client.get("/").content.decode()
    assert 'id="overdue-follow-ups"' in html and "Action 1" in html
    assert "Not due yet" not in html
    counted = []
    for extra in (0, 40):
        _overdue(incident, users["engineer"], extra)
        cache.clear()  # the render's cost, not the shared copy's (frontend/panels.py)
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        counted.append(len(queries))
    assert counted[0] == counted[1]
    html = client.get("/").content.decode()
    assert "42 overdue in all." in html
