"""Escalation chains: level n of an unacknowledged incident of a covered severity calls whom its
step names (on call, next on call, a person, the commander's manager else the admins), each
level once; without a chain, critical incidents call the admins and executives as before."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from core.models import Profile
from incidents.acknowledgements import acknowledge
from incidents.lifecycle import create_incident
from incidents.models import Event
from notifier.escalation import escalate_due
from notifier.models import EscalationChain, EscalationStep, Rotation
from tests.conftest import make_user
from tests.notifier.oncall_helpers import rotation


def escalations(incident) -> list[dict]:
    return [
        e.data for e in Event.objects.filter(incident=incident, kind="escalated").order_by("seq")
    ]


def minutes(n: int) -> dt.datetime:
    return timezone.now() + dt.timedelta(minutes=n)


@pytest.fixture
def team(users, settings):
    settings.ESCALATION_MINUTES = 10
    crew = [make_user(name, "engineer") for name in ("oncall1", "oncall2", "oncall3")]
    # Daily shifts from an hour ago: oncall1 holds the running one for 23 more hours.
    start = (timezone.now() - dt.timedelta(hours=1)).astimezone(dt.UTC)
    rot = rotation(
        "infra",
        crew,
        shift=Rotation.DAILY,
        starts_on=start.date(),
        handover=start.time().replace(second=0, microsecond=0),
        zone="UTC",
    )
    manager = make_user("boss", "engineer")
    return {"crew": crew, "rotation": rot, "manager": manager, **users}


def chain(name: str, severities: list[str], steps: list[tuple[str, dict]]) -> EscalationChain:
    made = EscalationChain.objects.create(name=name, severities=severities)
    for level, (target, extra) in enumerate(steps, start=1):
        EscalationStep.objects.create(chain=made, level=level, target=target, **extra)
    return made


def full_chain(team) -> EscalationChain:
    rot = team["rotation"]
    return chain(
        "standard",
        ["high", "critical"],
        [
            (EscalationStep.ON_CALL, {"rotation": rot}),
            (EscalationStep.NEXT_ON_CALL, {"rotation": rot}),
            (EscalationStep.MANAGER, {}),
        ],
    )


def test_each_level_fires_once_to_the_people_its_step_names(team, incident_in):
    made = full_chain(team)
    Profile.objects.update_or_create(user=team["engineer"], defaults={"manager": team["manager"]})
    incident = incident_in("scoping", severity="high")  # the engineer commands it
    oncall1, oncall2, _ = team["crew"]
    assert escalate_due(minutes(9)) == 0
    assert escalate_due(minutes(11)) == 1
    assert escalate_due(minutes(11)) == 0  # the same level never fires twice
    assert escalate_due(minutes(45)) == 1  # one level per scan, however late
    assert escalate_due(minutes(45)) == 1
    assert escalate_due(minutes(45)) == 0  # the chain has three levels
    assert escalations(incident) == [
        {"level": 1, "notify": [oncall1.pk], "target": "on_call", "chain": made.pk},
        {"level": 2, "notify": [oncall2.pk], "target": "next_on_call", "chain": made.pk},
        {"level": 3, "notify": [team["manager"].pk], "target": "manager", "chain": made.pk},
    ]


def test_without_a_manager_the_manager_level_calls_the_admins(team, incident_in):
    chain("managers", ["medium"], [(EscalationStep.MANAGER, {})])
    second_admin = make_user("admin2", "admin")
    incident = incident_in("scoping", severity="medium")
    assert escalate_due(minutes(11)) == 1
    [data] = escalations(incident)
    assert data["target"] == "admins"
    assert data["notify"] == sorted([team["admin"].pk, second_admin.pk])


def test_a_named_person_step_calls_that_person(team):
    chain("legal-first", ["low"], [(EscalationStep.USER, {"user": team["legal"]})])
    incident, _ = create_incident(actor=team["engineer"], data={"title": "x", "severity": "low"})
    assert escalate_due(minutes(11)) == 1
    assert escalations(incident)[0]["notify"] == [team["legal"].pk]


def test_only_the_severities_a_chain_lists_escalate(team):
    full_chain(team)  # high and critical
    low, _ = create_incident(actor=team["engineer"], data={"title": "x", "severity": "low"})
    high, _ = create_incident(actor=team["engineer"], data={"title": "y", "severity": "high"})
    assert escalate_due(minutes(11)) == 1
    assert escalations(low) == [] and len(escalations(high)) == 1


def test_a_chain_that_leaves_out_critical_stops_the_default_for_critical(team):
    chain("high-only", ["high"], [(EscalationStep.USER, {"user": team["legal"]})])
    critical, _ = create_incident(
        actor=team["engineer"], data={"title": "x", "severity": "critical"}
    )
    assert escalate_due(minutes(25)) == 0
    assert escalations(critical) == []


def test_acknowledgement_stops_the_chain(team, incident_in):
    full_chain(team)
    incident = incident_in("scoping", severity="critical")
    assert escalate_due(minutes(11)) == 1
    acknowledge(incident, team["crew"][0])
    assert escalate_due(minutes(25)) == 0
    assert [d["level"] for d in escalations(incident)] == [1]


def test_an_override_makes_the_stand_in_the_one_called(team, incident_in):
    from tests.notifier.oncall_helpers import override

    full_chain(team)
    stand_in = team["crew"][2]
    override(team["rotation"], stand_in, minutes(-60), minutes(60))
    incident = incident_in("scoping", severity="critical")
    assert escalate_due(minutes(11)) == 1
    assert escalations(incident)[0]["notify"] == [stand_in.pk]


def test_a_level_whose_people_may_not_read_the_incident_calls_the_admins(team):
    """Need to know: the on-call engineer is no member of this restricted incident."""
    full_chain(team)
    incident, _ = create_incident(
        actor=team["engineer"], data={"title": "x", "severity": "critical", "restricted": True}
    )
    incident.refresh_from_db()
    assert incident.restricted
    assert escalate_due(minutes(11)) == 1
    assert escalations(incident)[0]["target"] == "admins"
    assert escalations(incident)[0]["notify"] == [team["admin"].pk]


def test_a_level_that_names_nobody_calls_the_admins(team):
    empty = Rotation.objects.create(name="empty")
    chain("empty", ["low"], [(EscalationStep.ON_CALL, {"rotation": empty})])
    incident, _ = create_incident(actor=team["engineer"], data={"title": "x", "severity": "low"})
    assert escalate_due(minutes(11)) == 1
    data = escalations(incident)[0]
    assert (data["target"], data["notify"]) == ("admins", [team["admin"].pk])


def test_an_inactive_chain_leaves_todays_rule(team):
    made = full_chain(team)
    made.active = False
    made.save()
    high, _ = create_incident(actor=team["engineer"], data={"title": "x", "severity": "high"})
    critical, _ = create_incident(
        actor=team["engineer"], data={"title": "y", "severity": "critical"}
    )
    assert escalate_due(minutes(11)) == 1
    assert escalations(high) == []
    [data] = escalations(critical)
    assert data == {
        "level": 1,
        "notify": sorted([team["executive"].pk, team["admin"].pk]),
        "target": "default",
        "chain": None,
    }


def test_without_a_chain_critical_incidents_stop_after_the_configured_levels(team, settings):
    settings.ESCALATION_LEVELS = 2
    critical, _ = create_incident(
        actor=team["engineer"], data={"title": "y", "severity": "critical"}
    )
    for _ in range(4):
        escalate_due(minutes(60))
    assert [d["level"] for d in escalations(critical)] == [1, 2]
