"""Reading and editing the register (GET/POST /api/incidents/{ref}/affected-people/, DELETE
.../{id}/): decrypted keyset pages, every read logged, one person added or taken out, who may,
and a wrong key answered clearly."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.utils import timezone

from incidents.affected.register import add_person
from incidents.models import AccessKind, AccessRecord, AffectedPerson, Event, Notice, NoticeCampaign
from incidents.need_to_know import change_restriction
from tests.affected.register_helpers import PEOPLE, csv_bytes, import_csv, register_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


def many(count: int) -> bytes:
    return csv_bytes(
        (f"C-{i:05}", f"Person {i}", f"p{i}@example.com", "", "") for i in range(count)
    )


def reads() -> list[AccessRecord]:
    return list(AccessRecord.objects.filter(kind=AccessKind.REGISTER_READ).order_by("id"))


def test_the_list_shows_each_person_decrypted(api, incident_in):
    incident = incident_in("scoping")
    import_csv(api, incident.reference, csv_bytes(PEOPLE))
    response = api("admin").get(register_url(incident.reference))
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert set(first) == {
        "id",
        "customer_id",
        "name",
        "email",
        "mobile",
        "language",
        "added_by",
        "added_at",
        "notified_at",
    }
    assert (first["customer_id"], first["email"], first["mobile"], first["added_by"]) == (
        "C-1001",
        "Ali.Rezaei@example.com",
        "+989121234567",
        "legal",
    )
    assert first["notified_at"] is None


def test_pages_follow_the_cursor_and_every_page_read_is_logged(api, incident_in, users):
    incident = incident_in("scoping")
    import_csv(api, incident.reference, many(7))
    client = api("legal")
    first = client.get(register_url(incident.reference), {"page_size": 3}, REMOTE_ADDR="10.0.0.7")
    ids = [p["id"] for p in first.json()["results"]]
    second = client.get(first.json()["next"], HTTP_USER_AGENT="legal-tool/1")
    ids += [p["id"] for p in second.json()["results"]]
    assert len(ids) == 6 and ids == sorted(ids)
    assert [p["customer_id"] for p in second.json()["results"]] == ["C-00003", "C-00004", "C-00005"]
    first_read, second_read = reads()
    assert (first_read.user, first_read.username, first_read.incident) == (
        users["legal"],
        "legal",
        incident,
    )
    assert first_read.target == f"register:{ids[0]}-{ids[2]}"
    assert second_read.target == f"register:{ids[3]}-{ids[5]}"
    assert first_read.address == "10.0.0.7" and second_read.user_agent == "legal-tool/1"
    assert abs((timezone.now() - second_read.at).total_seconds()) < 60


def test_an_empty_register_read_is_logged_too(api, incident_in):
    incident = incident_in("scoping")
    response = api("legal").get(register_url(incident.reference))
    assert response.status_code == 200 and response.json()["results"] == []
    assert [r.target for r in reads()] == ["register:none"]


@pytest.mark.parametrize("count", [10, 200])
def test_a_page_costs_the_same_queries_whatever_the_register_size(
    api, incident_in, count, django_assert_max_num_queries
):
    incident = incident_in("scoping")
    import_csv(api, incident.reference, many(count))
    client = api("legal")
    # auth (token, user, roles), incident, page, access record (+ savepoint on some backends)
    with django_assert_max_num_queries(9):
        response = client.get(register_url(incident.reference), {"page_size": 500})
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("position", ["abc", "-1", "1.5", "99999999999999999999999", "١٢"])
def test_a_bad_or_forged_cursor_is_a_404(api, incident_in, position):
    """DRF checks a cursor's encoding; the position inside it (an id) is checked here."""
    incident = incident_in("scoping")
    forged = base64.b64encode(f"p={position}".encode()).decode()
    for cursor in ("not-base64!", forged):
        response = api("legal").get(register_url(incident.reference), {"cursor": cursor})
        assert response.status_code == 404 and response.json()["detail"]
    assert not reads()


@pytest.mark.parametrize("role", ["engineer", "executive", "norole"])
def test_other_roles_may_not_read_add_or_remove(api, incident_in, users, role):
    incident = incident_in("scoping")
    person = add_person(incident, {"customer_id": "C-1", "email": "a@b.io"}, actor=users["legal"])
    client = api(role)
    url = register_url(incident.reference)
    assert client.get(url).status_code == 403
    assert (
        client.post(url, {"customer_id": "C-2", "email": "c@d.io"}, format="json").status_code
        == 403
    )
    assert client.delete(f"{url}{person.pk}/").status_code == 403
    assert not reads() and AffectedPerson.objects.count() == 1


def test_signed_out_is_a_401(incident_in):
    from rest_framework.test import APIClient

    assert APIClient().get(register_url(incident_in("scoping").reference)).status_code == 401


def test_a_restricted_incident_is_a_404_to_legal_outside_it(api, incident_in, users):
    incident = incident_in("scoping")
    add_person(incident, {"customer_id": "C-1", "email": "a@b.io"}, actor=users["legal"])
    change_restriction(incident, actor=users["admin"], restricted=True, members=["executive"])
    url = register_url(incident.reference)
    missing = api("legal").get(register_url("INC-2099-9999"))
    for answer in (
        api("legal").get(url),
        api("legal").post(url, {"customer_id": "C-2", "email": "c@d.io"}, format="json"),
        api("legal").delete(f"{url}{AffectedPerson.objects.get().pk}/"),
    ):
        assert answer.status_code == 404 and answer.json() == missing.json()
    assert api("admin").get(url).status_code == 200
    assert [r.username for r in reads()] == ["admin"]


def test_legal_adds_one_person_normalised(api, incident_in):
    incident = incident_in("scoping")
    response = api("legal").post(
        register_url(incident.reference),
        {"customer_id": " C-9 ", "name": "Mina", "mobile": "۰۹۳۵ ۱۱۱ ۲۲۳۳", "language": "EN"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["customer_id"], body["mobile"], body["email"], body["language"]) == (
        "C-9",
        "+989351112233",
        None,
        "en",
    )
    assert body["notified_at"] is None and body["added_by"] == "legal"
    [event] = Event.objects.filter(kind="register.added")
    assert event.data == {"added": 1} and event.incident_id == incident.pk


def test_adding_a_listed_customer_again_is_a_409(api, incident_in):
    incident = incident_in("scoping")
    url = register_url(incident.reference)
    api("legal").post(url, {"customer_id": "C-9", "email": "a@b.io"}, format="json")
    again = api("admin").post(url, {"customer_id": "C-9", "email": "x@y.io"}, format="json")
    assert again.status_code == 409 and "already" in again.json()["detail"]
    assert AffectedPerson.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer_id": "C-1"}, "email"),  # no way to reach them
        ({"customer_id": "C-1", "mobile": "021 1234 5678"}, "mobile"),
        ({"email": "a@b.io"}, "customer_id"),
        ({"customer_id": "C-1", "email": "a@b.io", "national_id": "1"}, "national_id"),
        ({"customer_id": 1, "email": "a@b.io"}, "customer_id"),
        ({"customer_id": "C-1", "email": "a@b.io", "language": "ar"}, "language"),
        ({"customer_id": "C-1", "email": "a@b.io", "name": "x" * 201}, "name"),
    ],
)
def test_a_wrong_person_is_a_400_naming_the_field(api, incident_in, body, field):
    incident = incident_in("scoping")
    response = api("legal").post(register_url(incident.reference), body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert response.json()["detail"] and not AffectedPerson.objects.exists()


def test_a_body_that_is_not_json_is_a_415(api, incident_in):
    response = api("legal").post(
        register_url(incident_in("scoping").reference), "customer_id=1", content_type="text/plain"
    )
    assert response.status_code == 415


@pytest.mark.parametrize("state", ["closed", "dismissed"])
def test_no_one_is_added_to_or_removed_from_a_closed_register(api, incident_in, state):
    incident = incident_in(state)
    url = register_url(incident.reference)
    added = api("legal").post(url, {"customer_id": "C-1", "email": "a@b.io"}, format="json")
    assert added.status_code == 409
    assert api("legal").delete(f"{url}1/").status_code == 409
    assert api("legal").get(url).status_code == 200


def test_legal_removes_a_person_added_by_mistake(api, incident_in, users):
    incident = incident_in("scoping")
    person = add_person(incident, {"customer_id": "C-1", "email": "a@b.io"}, actor=users["legal"])
    url = f"{register_url(incident.reference)}{person.pk}/"
    assert api("legal").delete(url).status_code == 204
    assert not AffectedPerson.objects.exists()
    [event] = Event.objects.filter(kind="register.removed")
    assert event.data == {"removed": 1} and event.actor_username == "legal"
    assert api("legal").delete(url).status_code == 404


def test_a_person_is_removed_only_through_their_own_incident(api, incident_in, users):
    one, two = incident_in("scoping"), incident_in("scoping")
    person = add_person(one, {"customer_id": "C-1", "email": "a@b.io"}, actor=users["legal"])
    assert api("legal").delete(f"{register_url(two.reference)}{person.pk}/").status_code == 404
    assert api("legal").delete(f"{register_url(one.reference)}{2**63}/").status_code == 404
    assert AffectedPerson.objects.count() == 1


def notice_sent_to(person: AffectedPerson, actor: Any) -> Notice:
    """A notice already sent to ``person``. Campaigns are drafted, approved and sent by the
    notices' own code (issue 18 part 3), outside this part; the rows are what matters here."""
    campaign = NoticeCampaign.objects.create(incident=person.incident, drafted_by=actor)
    return Notice.objects.create(
        campaign=campaign,
        person=person,
        channel="email",
        status=Notice.SENT,
        sent_at=timezone.now(),
    )


def test_a_person_who_was_sent_a_notice_stays_and_shows_when(api, incident_in, users):
    incident = incident_in("scoping")
    person = add_person(incident, {"customer_id": "C-1", "email": "a@b.io"}, actor=users["legal"])
    notice = notice_sent_to(person, users["legal"])
    response = api("legal").delete(f"{register_url(incident.reference)}{person.pk}/")
    assert response.status_code == 409 and "notice" in response.json()["detail"]
    assert AffectedPerson.objects.filter(pk=person.pk).exists()
    assert not Event.objects.filter(kind="register.removed").exists()
    [listed] = api("legal").get(register_url(incident.reference)).json()["results"]
    assert listed["notified_at"] == timezone.localtime(notice.sent_at).isoformat()


def test_a_wrong_key_is_a_clear_503_not_a_500(api, incident_in, settings, caplog):
    incident = incident_in("scoping")
    import_csv(api, incident.reference, csv_bytes(PEOPLE))
    settings.PII_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(b"k" * 32).decode()]
    response = api("legal").get(register_url(incident.reference))
    assert response.status_code == 503
    assert "PII_ENCRYPTION_KEY" in response.json()["detail"]
    assert not reads()
    assert "no PII_ENCRYPTION_KEY opens it" in caplog.text


def test_an_old_key_kept_as_fallback_still_opens_the_register(api, incident_in, settings):
    incident = incident_in("scoping")
    import_csv(api, incident.reference, csv_bytes(PEOPLE))
    old = settings.PII_ENCRYPTION_KEYS[0]
    settings.PII_ENCRYPTION_KEYS = [base64.urlsafe_b64encode(b"n" * 32).decode(), old]
    response = api("legal").get(register_url(incident.reference))
    assert response.status_code == 200 and len(response.json()["results"]) == 3


def test_the_schema_documents_every_answer_of_the_register() -> None:
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    people = paths["/api/incidents/{reference}/affected-people/"]
    assert {"200", "401", "403", "404", "503"} <= set(people["get"]["responses"])
    assert {"201", "400", "403", "404", "409", "415"} <= set(people["post"]["responses"])
    one = paths["/api/incidents/{reference}/affected-people/{id}/"]["delete"]["responses"]
    assert {"204", "403", "404", "409"} <= set(one)
    upload = paths["/api/incidents/{reference}/affected-people/import/"]["post"]
    assert {"200", "400", "403", "404", "409", "413", "415"} <= set(upload["responses"])
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert [p["name"] for p in upload["parameters"] if p["in"] == "query"] == ["dry_run"]
    refused = upload["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
    assert refused.endswith("/AffectedPeopleImportRefused")
