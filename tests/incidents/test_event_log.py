"""The event log: one event per change, global seq in commit order, append-only, hash-chained."""

from __future__ import annotations

import pytest
from django.db import transaction

from incidents.events import GENESIS_HASH, event_hash
from incidents.lifecycle import apply_transition, create_incident, update_incident
from incidents.models import Event, LogHead

pytestmark = pytest.mark.django_db


def test_create_edit_and_transition_each_append_one_event(incident_in, engineer):
    incident = incident_in("detected")
    incident, _ = update_incident(incident, actor=engineer, changes={"severity": "critical"})
    apply_transition(incident, "start_scoping", actor=engineer)
    kinds = list(incident.events.values_list("kind", flat=True))
    assert kinds == ["created", "updated", "start_scoping"]
    update = incident.events.get(kind="updated")
    assert update.data == {"changes": {"severity": {"from": "high", "to": "critical"}}}
    assert update.actor == engineer and update.actor_username == "engineer"


def test_no_op_edit_writes_no_event(incident_in, engineer):
    incident = incident_in("detected")
    _, event = update_incident(incident, actor=engineer, changes={"title": incident.title})
    assert event is None
    assert incident.events.count() == 1


def test_seq_is_global_and_increasing(incident_in, engineer):
    first = incident_in("scoping")
    second = incident_in("detected")
    apply_transition(first, "dismiss", actor=engineer, payload={"reason": "dup"})
    seqs = list(Event.objects.order_by("id").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert LogHead.objects.latest_seq() == seqs[-1]
    assert {e.incident_id for e in Event.objects.all()} == {first.pk, second.pk}


def test_rolled_back_change_leaves_no_event_and_no_seq_gap(engineer):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        create_incident(actor=engineer, data={"title": "t", "severity": "low"})
        raise Boom
    assert Event.objects.count() == 0 and LogHead.objects.latest_seq() == 0
    incident, event = create_incident(actor=engineer, data={"title": "t", "severity": "low"})
    assert event.seq == 1 and incident.reference.endswith("-0001")


def test_events_cannot_be_edited_or_deleted_through_the_orm(incident_in):
    event = incident_in("detected").events.get()
    event.kind = "forged"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        Event.objects.all().update(kind="forged")
    with pytest.raises(PermissionError):
        Event.objects.all().delete()


def test_events_form_one_hash_chain(incident_in, engineer):
    incident_in("referred")
    incident_in("dismissed")
    previous = GENESIS_HASH
    for event in Event.objects.order_by("seq").select_related("incident"):
        assert event.prev_hash == previous
        assert event.hash == event_hash(event)
        previous = event.hash


def test_references_count_per_year(engineer):
    refs = [
        create_incident(actor=engineer, data={"title": str(i), "severity": "low"})[0].reference
        for i in range(3)
    ]
    year = refs[0].split("-")[1]
    assert refs == [f"INC-{year}-0001", f"INC-{year}-0002", f"INC-{year}-0003"]


def test_transition_broadcast_hooks_run_only_after_commit(
    incident_in, engineer, django_capture_on_commit_callbacks
):
    incident = incident_in("detected")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        apply_transition(incident, "start_scoping", actor=engineer)
    assert len(callbacks) >= 1
