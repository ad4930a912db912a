"""The retention period (AFFECTED_PEOPLE_RETENTION_DAYS after closing or dismissing): the purge
command deletes contact data and hashes, keeps the rows for the counts, records one event per
incident, leaves open, recent and reopened incidents alone, and is safe to run again."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from incidents.affected.register import add_person
from incidents.lifecycle import apply_transition
from incidents.models import AffectedPerson, Event
from tests.affected.register_helpers import PEOPLE, csv_bytes, import_csv, register_url
from tests.conftest import finish_review


def purge(*args: str) -> str:
    out = io.StringIO()
    call_command("purge_affected_people", *args, stdout=out)
    return out.getvalue()


def with_people(incident_in: Any, api: Any, state: str, users: dict[str, Any]) -> Any:
    """An incident in ``state`` whose register holds PEOPLE (added while it was open)."""
    if state == "closed":
        incident = incident_in("referred")
        import_csv(api, incident.reference, csv_bytes(PEOPLE))
        finish_review(incident, users["engineer"])
        incident, _ = apply_transition(incident, "close", actor=users["legal"], payload={})
    elif state == "dismissed":
        incident = incident_in("detected")
        import_csv(api, incident.reference, csv_bytes(PEOPLE))
        payload = {"reason": "false positive"}
        incident, _ = apply_transition(
            incident, "dismiss", actor=users["engineer"], payload=payload
        )
    else:
        incident = incident_in(state)
        import_csv(api, incident.reference, csv_bytes(PEOPLE))
    return incident


def purged_events(incident: Any) -> list[dict[str, Any]]:
    return [e.data for e in Event.objects.filter(incident=incident, kind="register.purged")]


@pytest.mark.django_db
@pytest.mark.parametrize("state", ["closed", "dismissed"])
def test_contact_data_is_purged_after_retention_and_the_counts_remain(
    api, incident_in, users, settings, state
):
    settings.AFFECTED_PEOPLE_RETENTION_DAYS = 0
    incident = with_people(incident_in, api, state, users)
    output = purge()
    assert f"{incident.reference}: 3 purged" in output
    people = AffectedPerson.objects.filter(incident=incident)
    assert people.count() == 3
    assert all(p.purged_at is not None for p in people)
    assert {(p.sealed, p.customer_hash, p.email_hash, p.mobile_hash) for p in people} == {
        ("", "", "", "")
    }
    # What is no personal data stays, for the counts per channel and language.
    assert sorted((p.has_email, p.has_mobile, p.language) for p in people) == [
        (False, True, "fa"),
        (True, True, "en"),
        (True, True, "fa"),
    ]
    assert purged_events(incident) == [{"purged": 3}]
    assert Event.objects.filter(kind="register.purged").get().actor_username == ""
    assert api("legal").get(register_url(incident.reference)).json()["results"] == []


@pytest.mark.django_db
def test_a_second_run_purges_nothing_and_records_nothing(api, incident_in, users, settings):
    settings.AFFECTED_PEOPLE_RETENTION_DAYS = 0
    incident = with_people(incident_in, api, "closed", users)
    purge()
    assert "0 people purged in 0 incidents" in purge()
    assert purged_events(incident) == [{"purged": 3}]


@pytest.mark.django_db
def test_open_recent_and_reopened_incidents_keep_their_register(api, incident_in, users, settings):
    settings.AFFECTED_PEOPLE_RETENTION_DAYS = 30
    recent = with_people(incident_in, api, "closed", users)
    still_open = with_people(incident_in, api, "restored", users)
    purge()
    settings.AFFECTED_PEOPLE_RETENTION_DAYS = 0
    reopened = with_people(incident_in, api, "dismissed", users)
    reopened, _ = apply_transition(
        reopened, "reopen", actor=users["engineer"], payload={"reason": "it was real"}
    )
    output = purge()
    assert f"{recent.reference}: 3 purged" in output
    for incident in (still_open, reopened):
        assert AffectedPerson.objects.present().filter(incident=incident).count() == 3
        assert purged_events(incident) == []


@pytest.mark.django_db
def test_a_dry_run_says_what_would_go_and_changes_nothing(api, incident_in, users, settings):
    settings.AFFECTED_PEOPLE_RETENTION_DAYS = 0
    incident = with_people(incident_in, api, "closed", users)
    events = Event.objects.count()
    output = purge("--dry-run")
    assert f"{incident.reference}: 3 would be purged" in output
    assert "dry run: 3 people in 1 incidents" in output
    assert AffectedPerson.objects.present().count() == 3 and Event.objects.count() == events


@pytest.mark.django_db
def test_after_a_purge_the_same_customer_can_be_listed_again_if_reopened(
    api, incident_in, users, settings
):
    """The purged rows hold no customer hash, so they never block a new entry (the unique
    constraint is on rows that still hold one)."""
    settings.AFFECTED_PEOPLE_RETENTION_DAYS = 0
    incident = with_people(incident_in, api, "dismissed", users)
    purge()
    incident, _ = apply_transition(
        incident, "reopen", actor=users["engineer"], payload={"reason": "r"}
    )
    add_person(incident, {"customer_id": PEOPLE[0][0], "email": "a@b.io"}, actor=users["legal"])
    assert AffectedPerson.objects.filter(incident=incident).count() == 4


@pytest.mark.django_db(transaction=True)
def test_on_sqlite_the_purged_tokens_are_gone_from_the_files(api, incident_in, users, settings):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's files; PostgreSQL frees old row versions at VACUUM")
    settings.AFFECTED_PEOPLE_RETENTION_DAYS = 0
    incident = with_people(incident_in, api, "closed", users)
    tokens = list(AffectedPerson.objects.filter(incident=incident).values_list("sealed", flat=True))
    path = Path(settings.DATABASES["default"]["NAME"])

    def on_disk() -> bytes:
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())

    assert all(t.encode()[:60] in on_disk() for t in tokens)  # the control: they were there
    # Another connection stays open, as the web processes' do: the write-ahead log is not
    # removed by a last connection closing, so only the purge's own checkpoint empties it.
    bystander = sqlite3.connect(path)
    try:
        purge()
        assert [t for t in tokens if t.encode()[:60] in on_disk()] == []
    finally:
        bystander.close()


def test_the_retention_default_is_a_year() -> None:
    assert settings.AFFECTED_PEOPLE_RETENTION_DAYS == 365


@pytest.mark.django_db
def test_an_incident_reopened_after_it_was_picked_keeps_its_register(
    api, incident_in, users, settings
):
    """purge_register decides again under the incident's lock: a reopen between the command's
    list and the lock wins."""
    from incidents.affected.register import due_for_purge, purge_register

    settings.AFFECTED_PEOPLE_RETENTION_DAYS = 0
    incident = with_people(incident_in, api, "dismissed", users)
    [picked] = due_for_purge()
    apply_transition(incident, "reopen", actor=users["engineer"], payload={"reason": "r"})
    assert purge_register(picked) == 0
    assert AffectedPerson.objects.present().filter(incident=incident).count() == 3
    assert purged_events(incident) == []
