"""A critical incident nobody acknowledges escalates to admins and executives, once per level."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from incidents.acknowledgements import acknowledge
from incidents.lifecycle import create_incident
from incidents.models import Event
from notifier.escalation import escalate_due
from notifier.outbox import derive_deliveries


def escalations(incident) -> list[int]:
    return [e.data["level"] for e in Event.objects.filter(incident=incident, kind="escalated")]


def test_unacknowledged_critical_incident_escalates_once(
    users, linked, run_worker, fake_telegram, settings
):
    settings.ESCALATION_MINUTES = 10
    incident, _ = create_incident(
        actor=users["engineer"], data={"title": "x", "severity": "critical"}
    )
    run_worker()
    fake_telegram.calls.clear()
    assert escalate_due(timezone.now() + dt.timedelta(minutes=9)) == 0
    later = timezone.now() + dt.timedelta(minutes=11)
    assert escalate_due(later) == 1
    assert escalate_due(later) == 0  # the same level never fires twice
    assert escalations(incident) == [1]
    run_worker()
    assert sorted(int(c.params["chat_id"]) for c in fake_telegram.sent()) == [1003, 1004]
    assert "Escalated: nobody acknowledged in time" in fake_telegram.sent()[0].params["text"]
    assert escalate_due(timezone.now() + dt.timedelta(minutes=21)) == 1
    assert escalations(incident) == [1, 2]


def test_acknowledged_incident_does_not_escalate(users, linked, settings):
    settings.ESCALATION_MINUTES = 10
    incident, _ = create_incident(
        actor=users["engineer"], data={"title": "x", "severity": "critical"}
    )
    acknowledge(incident, users["engineer2"])
    assert escalate_due(timezone.now() + dt.timedelta(minutes=30)) == 0
    assert escalations(incident) == []


def test_non_critical_incident_does_not_escalate(users, settings):
    create_incident(actor=users["engineer"], data={"title": "x", "severity": "high"})
    assert escalate_due(timezone.now() + dt.timedelta(hours=5)) == 0


def test_acknowledgement_reaches_the_commander(
    users, linked, incident_in, run_worker, fake_telegram
):
    incident = incident_in("scoping")  # engineer is commander
    derive_deliveries()
    acknowledge(incident, users["engineer2"])
    run_worker()
    texts = [c.params["text"] for c in fake_telegram.sent(1001)]
    assert any("Alert acknowledged" in t for t in texts)
