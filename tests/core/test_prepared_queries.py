"""Queries compiled once (core/prepared.py) read and write exactly what the ORM would."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import DatabaseError, transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from core.prepared import PreparedQuery, insert_row, update_row
from incidents.events import append_event
from incidents.lifecycle import apply_transition, create_incident
from incidents.models import Event, Incident

pytestmark = pytest.mark.django_db

WITH_PEOPLE = PreparedQuery(
    lambda reference: Incident.objects.filter(reference=reference).with_people()
)


def as_dict(instance: Any) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_prepared_query_loads_what_the_orm_loads_with_related_people(engineer: Any) -> None:
    incident, _ = create_incident(
        actor=engineer,
        data={
            "title": "Card data in logs",
            "severity": "high",
            "data_categories": ["payment_card"],
            "affected_systems": [{"name": "shop", "hosting": "own"}],
            "affected_subjects_estimate": 120,
        },
    )
    apply_transition(incident, "start_scoping", actor=engineer)
    expected = Incident.objects.with_people().get(reference=incident.reference)

    loaded = WITH_PEOPLE.get(incident.reference)

    assert as_dict(loaded) == as_dict(expected)
    assert isinstance(loaded.detected_at, dt.datetime) and loaded.detected_at.tzinfo is not None
    assert loaded.affected_systems == [{"name": "shop", "hosting": "own"}]
    assert not loaded._state.adding
    # The people came with the row, as select_related loads them: no further query.
    assert Incident.reporter.is_cached(loaded) and Incident.commander.is_cached(loaded)
    assert loaded.commander.username == engineer.username


def test_prepared_query_runs_again_with_each_new_value(engineer: Any) -> None:
    first, _ = create_incident(actor=engineer, data={"title": "one", "severity": "low"})
    second, _ = create_incident(actor=engineer, data={"title": "two", "severity": "low"})

    assert WITH_PEOPLE.get(first.reference).title == "one"
    assert WITH_PEOPLE.get(second.reference).title == "two"
    assert WITH_PEOPLE.get("INC-1999-0001") is None
    assert Incident.commander.is_cached(WITH_PEOPLE.get(first.reference))  # a null commander


def test_prepared_query_refuses_more_than_one_row(engineer: Any) -> None:
    create_incident(actor=engineer, data={"title": "same", "severity": "low"})
    create_incident(actor=engineer, data={"title": "same", "severity": "low"})
    by_title = PreparedQuery(lambda title: Incident.objects.filter(title=title))

    with pytest.raises(Incident.MultipleObjectsReturned):
        by_title.get("same")


def test_prepared_query_needs_its_marker_exactly_once(engineer: Any) -> None:
    wrong = PreparedQuery(lambda value: Incident.objects.filter(title="fixed"))

    with pytest.raises(ValueError, match="marker"):
        wrong.get("anything")


@pytest.mark.django_db(transaction=True)  # so that outside atomic() really is autocommit
def test_a_locking_prepared_query_needs_a_transaction_every_time(engineer: Any) -> None:
    incident, _ = create_incident(actor=engineer, data={"title": "t", "severity": "low"})
    locking = PreparedQuery(
        lambda reference: Incident.objects.select_for_update().filter(reference=reference)
    )
    with transaction.atomic():
        assert locking.get(incident.reference).pk == incident.pk  # compiled here, once

    with pytest.raises(TransactionManagementError):
        locking.get(incident.reference)


def test_insert_row_writes_every_column_and_sets_the_key(engineer: Any) -> None:
    incident, _ = create_incident(actor=engineer, data={"title": "t", "severity": "low"})
    event = Event(
        seq=10_000,
        incident=incident,
        kind="note",
        actor=engineer,
        actor_username=engineer.username,
        created_at=timezone.now(),
        data={"text": "سلام", "n": [1, 2]},
        prev_hash="a" * 64,
        hash="b" * 64,
    )

    insert_row(event)

    assert event.pk is not None and not event._state.adding
    assert as_dict(Event.objects.get(pk=event.pk)) == as_dict(event)


def test_update_row_writes_only_the_named_columns(engineer: Any) -> None:
    incident, _ = create_incident(actor=engineer, data={"title": "before", "severity": "low"})
    incident.title = "after"
    incident.summary = "not saved"

    update_row(incident, ["title"])

    stored = Incident.objects.get(pk=incident.pk)
    assert (stored.title, stored.summary) == ("after", "")


def test_update_row_of_a_vanished_row_is_an_error(engineer: Any) -> None:
    incident, _ = create_incident(actor=engineer, data={"title": "t", "severity": "low"})
    incident.pk = incident.pk + 1000

    with pytest.raises(DatabaseError):
        update_row(incident, ["title"])


def test_rolled_back_prepared_writes_leave_nothing(engineer: Any) -> None:
    incident, _ = create_incident(actor=engineer, data={"title": "t", "severity": "low"})
    count = Event.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        append_event(incident, "note", actor=engineer, data={})
        raise RuntimeError("the change fails after its event was written")

    assert Event.objects.count() == count
