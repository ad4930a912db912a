"""GET/POST /api/incidents/{ref}/updates/ and the incident's ``latest_update``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from incidents.lifecycle import update_incident
from incidents.models import StatusUpdate
from incidents.workspace.updates import post_update


def url(incident) -> str:
    return f"/api/incidents/{incident.reference}/updates/"


def test_an_engineer_posts_an_update_and_everyone_reads_it(api, incident_in):
    incident = incident_in("scoping", severity="critical")
    promised = timezone.now() + dt.timedelta(hours=1)
    answer = api("engineer").post(
        url(incident),
        {"body": "What we know: a public bucket.", "next_update_at": promised.isoformat()},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert set(body) == {"id", "body", "author", "created_at", "next_update_at"}
    assert body["author"] == "engineer" and body["body"] == "What we know: a public bucket."
    listed = api("executive").get(url(incident))
    assert listed.status_code == 200
    assert [u["id"] for u in listed.json()["results"]] == [body["id"]]


def test_the_list_is_newest_first_a_page_at_a_time(api, users, incident_in):
    incident = incident_in("scoping")
    for n in range(3):
        post_update(incident, actor=users["engineer"], body=f"update {n}")
    first = api("legal").get(url(incident) + "?page_size=2").json()
    assert [u["body"] for u in first["results"]] == ["update 2", "update 1"]
    second = api("legal").get(first["next"]).json()
    assert [u["body"] for u in second["results"]] == ["update 0"]


def test_the_detail_carries_the_latest_update_and_the_next_due_time(api, users, incident_in):
    incident = incident_in("scoping", severity="high")
    detail = api("executive").get(f"/api/incidents/{incident.reference}/").json()
    assert detail["latest_update"] is None and detail["next_update_at"]
    post_update(incident, actor=users["engineer"], body="first")
    update, _ = post_update(incident, actor=users["legal"], body="second")
    detail = api("executive").get(f"/api/incidents/{incident.reference}/").json()
    assert detail["latest_update"]["id"] == update.pk
    assert detail["latest_update"]["author"] == "legal"
    assert detail["next_update_at"] == detail["latest_update"]["next_update_at"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"body": ""},
        {"body": 12},
        {"body": "x" * 20001},
        {"body": "ok", "next_update_at": "yesterday"},
        {"body": "ok", "next_update_at": "2001-01-01T00:00:00Z"},
        {"body": "ok", "next_update_at": "2999-01-01T00:00:00Z"},
        {"body": "ok", "author": "admin"},
    ],
)
def test_bad_input_is_a_clear_400_and_writes_nothing(api, incident_in, body):
    incident = incident_in("scoping")
    answer = api("engineer").post(url(incident), body, format="json")
    assert answer.status_code == 400, answer.content
    assert not StatusUpdate.objects.exists()


def test_executives_may_not_post(api, incident_in):
    answer = api("executive").post(url(incident_in("scoping")), {"body": "hi"}, format="json")
    assert answer.status_code == 403


def test_a_closed_incident_answers_409(api, incident_in):
    incident = incident_in("closed", severity="medium")
    answer = api("legal").post(url(incident), {"body": "late"}, format="json")
    assert answer.status_code == 409 and answer.json()["state"] == "closed"


def test_a_restricted_incident_is_404_to_outsiders(api, users, incident_in):
    from incidents.need_to_know import change_restriction

    incident = incident_in("scoping")
    change_restriction(incident, actor=users["admin"], restricted=True, members=["legal"])
    assert incident.commander_id == users["engineer"].pk  # commanders always read theirs
    incident, _ = update_incident(incident, actor=users["admin"], changes={"commander": None})
    assert api("executive").get(url(incident)).status_code == 404
    assert api("engineer").post(url(incident), {"body": "x"}, format="json").status_code == 404


@pytest.mark.parametrize("count", [2, 25])
def test_the_incident_list_costs_the_same_queries_with_updates(
    api, users, incident_in, count, django_assert_max_num_queries
):
    client = api("executive")
    for n in range(count):
        post_update(incident_in("scoping", title=f"case {n}"), actor=users["engineer"], body="b")
    client.get("/api/incidents/")  # warm the token and the role caches
    with django_assert_max_num_queries(12):
        listed = client.get("/api/incidents/?page_size=100")
    assert all(row["latest_update"]["body"] == "b" for row in listed.json()["results"])


def test_the_schema_documents_the_endpoint(api):
    schema = api("admin").get("/api/schema/?format=json").json()
    operations = schema["paths"]["/api/incidents/{reference}/updates/"]
    assert {"get", "post"} <= set(operations)
    assert "409" in operations["post"]["responses"]
    incident = schema["components"]["schemas"]["Incident"]["properties"]
    assert {"latest_update", "next_update_at"} <= set(incident)
