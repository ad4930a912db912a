"""Need-to-know incidents (issue 17, item 7): a restricted incident is read only by its members,
its commander and admins, on every read path; a non-member meets the same 404 as for a
reference that does not exist; restriction changes are events; reads are logged."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.test import Client

from incidents.legal.obligations import seed_rules
from incidents.lifecycle import update_incident
from incidents.models import AccessRecord, Event, Incident
from incidents.need_to_know import change_restriction
from tests.conftest import client_for, is_postgres, make_user

MISSING = "INC-2099-9999"
MISSING_PK = 987654321
# Who reads a restricted incident, and who meets a 404.
SEES = ("admin", "commander", "member")
BLIND = ("engineer", "legal", "executive")
EVERYONE = SEES + BLIND


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def cast(users: dict[str, Any]) -> dict[str, Any]:
    """The role x membership matrix: ``commander`` (an engineer commanding the incident),
    ``member`` (an executive on its member list), and the fixture's engineer (who reported it),
    legal and executive outside it."""
    users["commander"] = make_user("commander", "engineer")
    users["member"] = make_user("member", "executive")
    return users


@pytest.fixture
def secret(cast: dict[str, Any], incident_in: Any, media: Path, settings: Any) -> dict[str, Any]:
    """A referred incident with a referral, obligations and a piece of evidence, restricted by
    its commander to ``member``; and an open incident everyone reads."""
    settings.EVIDENCE_EXECUTIVE_DOWNLOAD = True  # so the member (an executive) downloads too
    seed_rules()
    incident = incident_in("referred", title="Insider exfiltration", severity="critical")
    incident, _ = update_incident(
        incident, actor=cast["admin"], changes={"commander": cast["commander"]}
    )
    upload = SimpleUploadedFile("log.txt", b"who took what", content_type="text/plain")
    stored = client_for(cast["admin"]).post(
        f"/api/incidents/{incident.reference}/evidence/", {"file": upload}, format="multipart"
    )
    assert stored.status_code == 201, stored.content
    incident, events = change_restriction(
        incident, actor=cast["commander"], restricted=True, members=["member"]
    )
    assert [e.kind for e in events] == ["restriction.on", "members.added"]
    public = incident_in("scoping", title="Phishing wave")
    return {
        "incident": incident,
        "public": public,
        "referral": incident.referrals.get().pk,
        "evidence": stored.json()["id"],
        "obligation": incident.obligations.first(),
    }


def _reads(ref: str, referral: int, evidence: int) -> list[str]:
    """Every GET route that reads one incident or one of its records."""
    return [
        f"/api/incidents/{ref}/",
        f"/api/incidents/{ref}/timeline/",
        f"/api/incidents/{ref}/referrals/",
        f"/api/incidents/{ref}/obligations/",
        f"/api/incidents/{ref}/evidence/",
        f"/api/incidents/{ref}/dossier.pdf",
        f"/api/referrals/{referral}/",
        f"/api/evidence/{evidence}/",
        f"/api/evidence/{evidence}/download/",
    ]


READ_ROUTES = range(len(_reads("x", 1, 1)))


@pytest.mark.parametrize("route", READ_ROUTES)
@pytest.mark.parametrize("role", EVERYONE)
def test_every_read_route_answers_non_members_as_if_the_incident_did_not_exist(
    secret, cast, role, route
):
    url = _reads(secret["incident"].reference, secret["referral"], secret["evidence"])[route]
    missing = _reads(MISSING, MISSING_PK, MISSING_PK)[route]
    client = client_for(cast[role])
    answer = client.get(url)
    if role in SEES:
        assert answer.status_code == 200, (url, answer.status_code)
        return
    absent = client.get(missing)
    assert answer.status_code == absent.status_code == 404
    assert answer.content == absent.content
    assert answer["Content-Type"] == absent["Content-Type"]


def _writes(ref: str, referral: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"/api/incidents/{ref}/transitions/close/", {}),
        (f"/api/incidents/{ref}/notes/", {"text": "peek"}),
        (f"/api/incidents/{ref}/acknowledge/", {}),
        (f"/api/incidents/{ref}/referrals/", {"authority": "prosecutor"}),
        (f"/api/referrals/{referral}/transitions/withdraw/", {"reason": "x"}),
    ]


@pytest.mark.parametrize("route", range(5))
@pytest.mark.parametrize("role", ("engineer", "legal"))
def test_writes_by_non_members_meet_the_same_404(secret, cast, role, route):
    url, body = _writes(secret["incident"].reference, secret["referral"])[route]
    missing, _ = _writes(MISSING, MISSING_PK)[route]
    client = client_for(cast[role])
    before = Event.objects.count()
    answer, absent = (
        client.post(url, body, format="json"),
        client.post(missing, body, format="json"),
    )
    assert answer.status_code == absent.status_code == 404, (url, answer.content)
    assert answer.content == absent.content
    assert Event.objects.count() == before


def test_subscribing_to_a_hidden_incident_is_a_404(secret, cast):
    client = client_for(cast["engineer"])
    hidden = client.put(f"/api/me/subscriptions/{secret['incident'].reference}/")
    absent = client.put(f"/api/me/subscriptions/{MISSING}/")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.content == absent.content
    assert client_for(cast["member"]).put(
        f"/api/me/subscriptions/{secret['incident'].reference}/"
    ).status_code in (200, 201)


@pytest.mark.parametrize("role", EVERYONE)
def test_list_and_event_feed_show_restricted_incidents_only_to_their_audience(secret, cast, role):
    client = client_for(cast[role])
    ref = secret["incident"].reference
    listed = [i["reference"] for i in client.get("/api/incidents/").json()["results"]]
    feed = client.get("/api/events/?after=0&page_size=500").json()["results"]
    one = client.get(f"/api/events/?incident={ref}").json()["results"]
    obligations = client.get("/api/obligations/").json()
    obligation_refs = {o["incident"] for o in obligations.get("results", obligations)}
    assert secret["public"].reference in listed
    assert (ref in listed) is (role in SEES)
    assert ({e["incident"] for e in feed} >= {ref}) is (role in SEES)
    assert bool(one) is (role in SEES)
    assert (ref in obligation_refs) is (role in SEES)


@pytest.mark.parametrize("role", EVERYONE)
def test_pages_list_and_open_restricted_incidents_only_for_their_audience(secret, cast, role):
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(cast[role])
    ref = secret["incident"].reference
    listing = browser.get("/incidents/").content.decode()
    page = browser.get(f"/incidents/{ref}/")
    assert (ref in listing) is (role in SEES)
    if role in SEES:
        assert page.status_code == 200
        assert "Insider exfiltration" in page.content.decode()
        return
    absent = browser.get(f"/incidents/{MISSING}/")
    assert page.status_code == absent.status_code == 404
    # The friendly 404 page carries the sign-out and language forms: their CSRF tokens are
    # masked afresh in every answer, and the language switch returns to the address asked for.
    assert same_page(page.content) == same_page(absent.content)


def same_page(html: bytes) -> bytes:
    return re.sub(rb'name="(csrfmiddlewaretoken|next)" value="[^"]*"', b"", html)


@pytest.mark.parametrize("role", EVERYONE)
def test_dashboard_counts_restricted_incidents_without_naming_them(secret, cast, role):
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(cast[role])
    html = browser.get("/").content.decode()
    ref = secret["incident"].reference
    assert 'id="open-total">2<' in html  # the restricted (referred) one and the public one
    assert (ref in html) is (role in SEES)
    assert ("Insider exfiltration" in html) is (role in SEES)
    assert ('id="open-hidden"' in html) is (role not in SEES)


def test_dossier_lists_its_access_records(secret, cast):
    ref = secret["incident"].reference
    client = client_for(cast["member"])
    client.get(f"/api/incidents/{ref}/", HTTP_USER_AGENT="curl/8.5", REMOTE_ADDR="10.1.2.3")
    zip_client = client_for(cast["admin"])
    archive = zip_client.get(f"/api/incidents/{ref}/dossier.zip", REMOTE_ADDR="10.9.9.9")
    assert archive.status_code == 200
    body = b"".join(archive.streaming_content)
    exported = json.loads(zipfile.ZipFile(io.BytesIO(body)).read("incident.json"))
    log = [(a["username"], a["kind"], a["target"], a["address"]) for a in exported["access_log"]]
    assert ("member", "incident.opened", "api", "10.1.2.3") in log
    assert log[-1] == ("admin", "dossier.exported", "dossier.zip", "10.9.9.9")
    assert {"curl/8.5"} <= {a["user_agent"] for a in exported["access_log"]}


def test_reads_write_access_records_with_who_what_and_from_where(secret, cast):
    ref = secret["incident"].reference
    headers = {"HTTP_USER_AGENT": "Mozilla/5.0 probe", "REMOTE_ADDR": "192.0.2.7"}
    member = client_for(cast["member"])
    assert member.get(f"/api/incidents/{ref}/", **headers).status_code == 200
    assert member.get(f"/api/evidence/{secret['evidence']}/download/", **headers).status_code == 200
    assert member.get(f"/api/incidents/{ref}/dossier.pdf", **headers).status_code == 200
    browser = Client(**headers)
    browser.force_login(cast["commander"])
    assert browser.get(f"/incidents/{ref}/").status_code == 200
    # A public incident's page is not logged; a non-member's 404 reads nothing.
    assert member.get(f"/api/incidents/{secret['public'].reference}/").status_code == 200
    assert client_for(cast["legal"]).get(f"/api/incidents/{ref}/").status_code == 404
    rows = list(AccessRecord.objects.order_by("id"))
    assert [(r.username, r.kind, r.target) for r in rows] == [
        ("member", "incident.opened", "api"),
        ("member", "evidence.downloaded", f"evidence:{secret['evidence']}"),
        ("member", "dossier.exported", "dossier.pdf"),
        ("commander", "incident.opened", "page"),
    ]
    assert {r.address for r in rows} == {"192.0.2.7"}
    assert {r.user_agent for r in rows} == {"Mozilla/5.0 probe"}
    assert all(r.incident_id == secret["incident"].pk and r.at for r in rows)


def test_access_log_is_append_only(secret, cast):
    client_for(cast["member"]).get(f"/api/incidents/{secret['incident'].reference}/")
    record = AccessRecord.objects.get()
    record.username = "someone else"
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        record.delete()
    with pytest.raises(PermissionError):
        AccessRecord.objects.all().update(username="x")
    with pytest.raises(PermissionError):
        AccessRecord.objects.all().delete()
    if is_postgres():  # the trigger of migration 0005 refuses raw SQL too
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM incidents_accessrecord")
    assert AccessRecord.objects.get().username == "member"


def test_access_log_is_admin_only_and_filters(secret, cast):
    ref = secret["incident"].reference
    client_for(cast["member"]).get(f"/api/incidents/{ref}/")
    client_for(cast["commander"]).get(f"/api/evidence/{secret['evidence']}/download/")
    for role in ("commander", "member", "legal", "engineer", "executive"):
        assert client_for(cast[role]).get("/api/access-log/").status_code == 403
    admin = client_for(cast["admin"])
    every = admin.get("/api/access-log/").json()
    assert [r["kind"] for r in every["results"]] == ["evidence.downloaded", "incident.opened"]
    assert set(every) >= {"next", "previous", "results"}
    assert every["results"][0]["incident"] == ref and every["results"][0]["user"] == "commander"
    by_user = admin.get("/api/access-log/?user=member").json()["results"]
    assert [r["user"] for r in by_user] == ["member"]
    by_kind = admin.get("/api/access-log/?kind=evidence.downloaded").json()["results"]
    assert [r["kind"] for r in by_kind] == ["evidence.downloaded"]
    assert admin.get(f"/api/access-log/?incident={MISSING}").json()["results"] == []
    assert admin.get("/api/access-log/?until=2000-01-01T00:00:00Z").json()["results"] == []
    assert len(admin.get("/api/access-log/?since=2000-01-01T00:00:00Z").json()["results"]) == 2
    paged = admin.get("/api/access-log/?page_size=1").json()
    assert len(paged["results"]) == 1 and paged["next"]
    assert admin.get(paged["next"]).json()["results"][0]["kind"] == "incident.opened"
    bad = admin.get("/api/access-log/?kind=nonsense")
    assert bad.status_code == 400 and "kind" in bad.json()


def test_a_forged_access_log_cursor_is_a_404_not_a_500(cast):
    import base64

    admin = client_for(cast["admin"])
    for position in ("abc", str(2**64)):
        cursor = base64.b64encode(f"p={position}".encode()).decode()
        response = admin.get(f"/api/access-log/?cursor={cursor}")
        assert response.status_code == 404, position
        assert "detail" in response.json()


def test_api_shows_restricted_and_members(secret, cast):
    body = client_for(cast["member"]).get(f"/api/incidents/{secret['incident'].reference}/")
    assert body.json()["restricted"] is True and body.json()["members"] == ["member"]
    public = client_for(cast["engineer"]).get(f"/api/incidents/{secret['public'].reference}/")
    assert public.json()["restricted"] is False and public.json()["members"] == []


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 200),
        ("commander", 200),
        ("legal", 200),  # legal of an incident they see (the public one)
        ("engineer", 403),  # not its commander
        ("executive", 403),  # reads only
    ],
)
def test_only_commander_legal_and_admins_may_restrict(cast, incident_in, role, status):
    incident = incident_in("scoping")
    incident, _ = update_incident(
        incident, actor=cast["admin"], changes={"commander": cast["commander"]}
    )
    answer = client_for(cast[role]).patch(
        f"/api/incidents/{incident.reference}/", {"restricted": True}, format="json"
    )
    assert answer.status_code == status, answer.content
    incident.refresh_from_db()
    assert incident.restricted is (status == 200)
    kinds = list(
        incident.events.filter(kind__startswith="restriction").values_list("kind", flat=True)
    )
    assert kinds == (["restriction.on"] if status == 200 else [])


def test_legal_who_restricts_stays_a_member(cast, incident_in):
    incident = incident_in("scoping")
    client = client_for(cast["legal"])
    answer = client.patch(
        f"/api/incidents/{incident.reference}/", {"restricted": True}, format="json"
    )
    assert answer.status_code == 200
    assert answer.json()["members"] == ["legal"]
    assert client.get(f"/api/incidents/{incident.reference}/").status_code == 200


def test_non_member_patch_is_a_404_like_a_missing_reference(secret, cast):
    client = client_for(cast["legal"])
    body = {"restricted": False}
    hidden = client.patch(f"/api/incidents/{secret['incident'].reference}/", body, format="json")
    absent = client.patch(f"/api/incidents/{MISSING}/", body, format="json")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.content == absent.content
    assert Incident.objects.get(pk=secret["incident"].pk).restricted is True


def test_unknown_or_roleless_member_is_a_400_naming_it(secret, cast):
    client = client_for(cast["commander"])
    url = f"/api/incidents/{secret['incident'].reference}/"
    answer = client.patch(url, {"members": ["member", "ghost", "norole"]}, format="json")
    assert answer.status_code == 400
    assert "ghost" in str(answer.json()["members"]) and "norole" in str(answer.json()["members"])
    for bad in ({"restricted": "maybe"}, {"members": "member"}, {"members": [1]}):
        refused = client.patch(url, bad, format="json")
        assert refused.status_code == 400, (bad, refused.content)
    assert list(secret["incident"].members.values_list("username", flat=True)) == ["member"]


def test_every_restriction_change_is_an_event_with_usernames(secret, cast):
    client = client_for(cast["commander"])
    ref = secret["incident"].reference
    url = f"/api/incidents/{ref}/"
    assert client.patch(url, {"members": ["member", "legal"]}, format="json").status_code == 200
    assert client_for(cast["legal"]).get(url).status_code == 200  # a member now
    assert client.patch(url, {"members": ["legal"]}, format="json").status_code == 200
    assert client_for(cast["member"]).get(url).status_code == 404  # taken off
    assert client.patch(url, {"members": ["legal"]}, format="json").status_code == 200  # no-op
    answer = client.patch(url, {"restricted": False}, format="json")
    assert answer.status_code == 200 and answer.json()["restricted"] is False
    assert client_for(cast["member"]).get(url).status_code == 200  # everyone reads it again
    events = [
        (e.kind, e.actor_username, e.data)
        for e in Event.objects.filter(incident__reference=ref, kind__contains=".").order_by("seq")
        if e.kind.startswith(("restriction", "members"))
    ]
    assert events == [
        ("restriction.on", "commander", {"members": ["member"]}),
        ("members.added", "commander", {"members": ["member"]}),
        ("members.added", "commander", {"members": ["legal"]}),
        ("members.removed", "commander", {"members": ["member"]}),
        ("restriction.off", "commander", {"members": ["legal"]}),
    ]


def test_timeline_says_restriction_changes_in_words(secret, cast):
    for language, words in (("en", "Restricted to its members"), ("fa", "محدود به اعضا")):
        browser = Client(HTTP_ACCEPT_LANGUAGE=language)
        browser.force_login(cast["commander"])
        html = browser.get(f"/incidents/{secret['incident'].reference}/").content.decode()
        assert words in html, language
        assert "<bdi>member</bdi>" in html


def test_restriction_and_edit_in_one_patch_stand_together(secret, cast):
    client = client_for(cast["commander"])
    url = f"/api/incidents/{secret['incident'].reference}/"
    version = client.get(url).json()["version"]
    answer = client.patch(
        url,
        {"members": ["legal"], "summary": "insider"},
        format="json",
        HTTP_IF_MATCH=f'"{version}"',
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["summary"] == "insider" and answer.json()["members"] == ["legal"]
    stale = client.patch(url, {"members": []}, format="json", HTTP_IF_MATCH=f'"{version}"')
    assert stale.status_code == 412


def test_page_control_restricts_for_the_commander(cast, incident_in):
    incident = incident_in("scoping")
    incident, _ = update_incident(
        incident, actor=cast["admin"], changes={"commander": cast["commander"]}
    )
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(cast["commander"])
    page = browser.get(f"/incidents/{incident.reference}/").content.decode()
    assert "Change who reads it" in page
    answer = browser.post(
        f"/incidents/{incident.reference}/access/",
        {"version": incident.version, "restricted": "on", "members": "member, legal"},
    )
    assert answer.status_code == 302
    incident.refresh_from_db()
    assert incident.restricted
    assert sorted(incident.members.values_list("username", flat=True)) == ["legal", "member"]
    refused = browser.post(
        f"/incidents/{incident.reference}/access/",
        {"version": incident.version, "restricted": "on", "members": "ghost"},
        follow=True,
    )
    # Shown again on the incident's own page (303 there, then 200), naming who is unknown.
    assert refused.redirect_chain[0][1] == 303 and refused.status_code == 200
    assert "ghost" in refused.content.decode()
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    other.force_login(cast["executive"])
    assert other.get(f"/incidents/{incident.reference}/").status_code == 404
    engineer = Client(HTTP_ACCEPT_LANGUAGE="en")
    engineer.force_login(cast["engineer"])
    public = incident_in("detected")  # no commander yet
    assert (
        "Change who reads it"
        not in engineer.get(f"/incidents/{public.reference}/").content.decode()
    )


def test_commander_always_reads_the_incident_they_command(secret, cast):
    ref = secret["incident"].reference
    incident = secret["incident"]
    assert "commander" not in list(incident.members.values_list("username", flat=True))
    assert client_for(cast["commander"]).get(f"/api/incidents/{ref}/").status_code == 200
    # Handing command over hands the access over.
    incident, _ = update_incident(
        incident, actor=cast["admin"], changes={"commander": cast["admin"]}
    )
    assert client_for(cast["commander"]).get(f"/api/incidents/{ref}/").status_code == 404


@pytest.mark.parametrize("rows", [3, 30])
def test_visibility_costs_the_same_queries_whatever_the_data(
    cast, incident_in, rows, django_assert_max_num_queries
):
    for i in range(rows):
        incident = incident_in("detected", title=f"case {i}")
        if i % 2:
            change_restriction(incident, actor=cast["admin"], restricted=True, members=["member"])
    client = client_for(cast["member"])
    with django_assert_max_num_queries(12):
        assert client.get("/api/incidents/?page_size=100").status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get("/api/events/?after=0&page_size=500").status_code == 200


def test_persian_dashboard_says_how_many_are_not_listed(secret, cast):
    browser = Client(HTTP_ACCEPT_LANGUAGE="fa")
    browser.force_login(cast["executive"])
    html = browser.get("/").content.decode()
    assert "۱ رخداد محدود در شمار بالا آمده" in html
