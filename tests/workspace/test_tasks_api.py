"""GET/POST /api/incidents/{ref}/tasks/ and PATCH/DELETE .../tasks/{id}/: shapes, roles,
versions, refusals."""

from __future__ import annotations

import pytest

from incidents.models import Event
from tests.conftest import client_for, make_user

pytestmark = pytest.mark.django_db

SHAPE = {
    "id",
    "title",
    "phase",
    "required",
    "confirms",
    "assignee",
    "due_at",
    "done",
    "done_by",
    "done_at",
    "note",
    "runbook",
    "version",
}


def tasks_url(incident, pk=None):
    base = f"/api/incidents/{incident.reference}/tasks/"
    return base if pk is None else f"{base}{pk}/"


def test_runbook_tasks_are_listed_in_the_callers_language(api, incident_in):
    incident = incident_in("scoping")
    r = api("executive").get(tasks_url(incident), HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200
    body = r.json()
    assert body and set(body[0]) == SHAPE
    titles = {t["title"] for t in body}
    assert "Preserve logs and snapshots before anything is changed" in titles
    fa = api("executive").get(tasks_url(incident), HTTP_ACCEPT_LANGUAGE="fa").json()
    assert "پیش از هر تغییری، لاگ‌ها و اسنپ‌شات‌ها را حفظ کنید" in {t["title"] for t in fa}


def test_engineer_adds_assigns_and_completes_a_task(api, incident_in, users):
    incident = incident_in("scoping")
    eng = api("engineer")
    r = eng.post(
        tasks_url(incident),
        {"title": "Pull the VPN logs", "assignee": "admin", "due_at": "2099-01-01T10:00:00Z"},
        format="json",
    )
    assert r.status_code == 201, r.json()
    task = r.json()
    assert (task["assignee"], task["phase"], task["done"], task["runbook"]) == (
        "admin",
        "scoping",
        False,
        False,
    )
    assert r["ETag"] == f'"{task["version"]}"'
    url = tasks_url(incident, task["id"])
    done = eng.patch(url, {"done": True}, format="json", HTTP_IF_MATCH=f'"{task["version"]}"')
    assert done.status_code == 200, done.json()
    assert (done.json()["done"], done.json()["done_by"]) == (True, "engineer")
    assert done.json()["done_at"] and done.json()["version"] == task["version"] + 1
    kinds = list(Event.objects.filter(incident=incident).values_list("kind", flat=True))
    assert kinds[-2:] == ["task.added", "task.done"]
    reopened = eng.patch(url, {"done": False}, format="json").json()
    assert (reopened["done"], reopened["done_by"], reopened["done_at"]) == (False, None, None)
    assert eng.delete(url).status_code == 204
    assert Event.objects.filter(incident=incident).last().kind == "task.deleted"


def test_stale_version_is_412(api, incident_in):
    incident = incident_in("scoping")
    task = incident.tasks.first()
    r = api("engineer").patch(
        tasks_url(incident, task.pk), {"note": "x"}, format="json", HTTP_IF_MATCH='"99"'
    )
    assert r.status_code == 412


def test_executive_and_legal_read_but_do_not_change_tasks(api, incident_in):
    incident = incident_in("scoping")
    task = incident.tasks.first()
    for role in ("executive", "legal", "norole"):
        client = api(role)
        assert client.post(tasks_url(incident), {"title": "x"}, format="json").status_code == 403
        r = client.patch(tasks_url(incident, task.pk), {"done": True}, format="json")
        assert r.status_code == 403
        assert client.delete(tasks_url(incident, task.pk)).status_code == 403


def test_a_runbooks_required_task_cannot_be_deleted(api, incident_in):
    incident = incident_in("scoping")
    required = incident.tasks.get(required=True)
    r = api("engineer").delete(tasks_url(incident, required.pk), HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 409 and "only done" in r.json()["detail"]
    r = api("engineer").patch(tasks_url(incident, required.pk), {"title": "x"}, format="json")
    assert r.status_code == 400 and "title" in r.json()


def test_bad_input_is_a_clear_400(api, incident_in):
    incident = incident_in("scoping")
    eng = api("engineer")
    for body in (
        {},
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 201},
        {"title": 5},
        {"title": "x", "assignee": "nobody"},
        {"title": "x", "assignee": "legal"},  # not an engineer or admin
        {"title": "x", "due_at": "tomorrow"},
        {"title": "x", "done": True},
        {"title": "x", "phase": "restoring"},
        {"title": "x", "colour": "red"},
    ):
        r = eng.post(tasks_url(incident), body, format="json")
        assert r.status_code == 400, (body, r.json())
        assert "detail" in r.json()
    task = incident.tasks.first()
    r = eng.patch(tasks_url(incident, task.pk), {"done": "maybe"}, format="json")
    assert r.status_code == 400


def test_closed_incidents_tasks_are_refused_with_409(api, incident_in):
    incident = incident_in("dismissed")
    r = api("engineer").post(tasks_url(incident), {"title": "late"}, format="json")
    assert r.status_code == 409


def test_restricted_incidents_tasks_follow_who_may_read_it(api, incident_in, users):
    from incidents.need_to_know import change_restriction

    outsider = make_user("outsider", "engineer")
    incident = incident_in("scoping")
    change_restriction(incident, actor=users["admin"], restricted=True, members=["engineer"])
    assert client_for(outsider).get(tasks_url(incident)).status_code == 404
    assert api("engineer").get(tasks_url(incident)).status_code == 200
    r = api("engineer").post(
        tasks_url(incident), {"title": "x", "assignee": "outsider"}, format="json"
    )
    assert r.status_code == 400 and "assignee" in r.json()


def test_gated_transition_lists_the_open_required_tasks(api, incident_in):
    incident = incident_in("restoring")
    r = api("engineer").post(
        f"/api/incidents/{incident.reference}/transitions/mark_restored/",
        {"restoration_summary": "Fixed."},
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert r.status_code == 400
    assert r.json()["missing"] == ["tasks"]
    titles = {t["title"] for t in r.json()["tasks"]}
    assert "Confirm the fix with a second engineer" in titles


def test_second_engineer_rule_answers_400(api, incident_in):
    incident = incident_in("restoring")
    eng = api("engineer")
    for task in incident.tasks.filter(confirms=False):
        r = eng.patch(tasks_url(incident, task.pk), {"done": True}, format="json")
        assert r.status_code == 200
    confirm = incident.tasks.get(confirms=True)
    r = eng.patch(tasks_url(incident, confirm.pk), {"done": True}, format="json")
    assert r.status_code == 400 and "done" in r.json()
    r = api("admin").patch(tasks_url(incident, confirm.pk), {"done": True}, format="json")
    assert r.status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        {"title": None},
        {"title": ["x"]},
        {"title": "x", "assignee": 5},
        {"title": "x", "assignee": ["admin"]},
        {"title": "x", "due_at": "0001-01-01T00:00:00"},
        {"title": "x", "due_at": True},
        {"title": "x", "required": "maybe"},
        {"title": "x", "note": {"a": 1}},
        {"title": "x\u0000y"},
    ],
)
def test_hostile_bodies_are_400_never_500(api, incident_in, body):
    incident = incident_in("scoping")
    eng = api("engineer")
    r = eng.post(tasks_url(incident), body, format="json")
    assert r.status_code == 400, r.content
    task = incident.tasks.first()
    r = eng.patch(tasks_url(incident, task.pk), body, format="json")
    assert r.status_code in (200, 400), r.content


def test_unknown_task_and_huge_ids_are_404(api, incident_in):
    incident = incident_in("scoping")
    other = incident_in("scoping")
    foreign = other.tasks.first()
    eng = api("engineer")
    assert (
        eng.patch(tasks_url(incident, foreign.pk), {"done": True}, format="json").status_code == 404
    )
    assert eng.delete(tasks_url(incident, 2**70)).status_code == 404
    assert eng.get("/api/incidents/INC-1999-0001/tasks/").status_code == 404
