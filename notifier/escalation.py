"""Escalation: who is called, level by level, when nobody acknowledges an incident in time
(docs/oncall.md).

An active ``EscalationChain`` covers the severities it lists: level n of an open, unacknowledged
incident of such a severity fires once, ``n × ESCALATION_MINUTES`` after the incident was
created, and calls whom its step names (the rotation's on-call engineer, the next one, a named
person, the commander's manager else the admins). Without any active chain, today's rule:
critical incidents, ``ESCALATION_LEVELS`` levels, each calling the admins and executives.

The escalation event names the people (ids) in ``notify``; the outbox routes it to them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from core.models import Profile
from core.roles import EXECUTIVE, load_roles, roles_of
from incidents.acknowledgements import ESCALATED, is_acknowledged, record_escalation
from incidents.choices import Severity
from incidents.models import Event, Incident, sees
from notifier.models import EscalationChain, EscalationStep, Rotation
from notifier.oncall import Schedule

# What an escalation event's ``target`` says beside the step targets: the admins (a manager
# step with no manager named), and the admins and executives of the rule without a chain.
ADMINS, DEFAULT = "admins", "default"


@dataclass
class Plan:
    """How one severity escalates: its levels, whom a level calls (``target``, ids) and the
    chain that says so (None for the rule without a chain)."""

    levels: list[int]
    whom: Callable[[int, Incident, dt.datetime], tuple[str, list[int]]]
    chain: int | None = None


def escalate_due(now: dt.datetime | None = None) -> int:
    """Record the next due escalation level of each incident nobody acknowledged in time; one
    level per incident per scan. Returns how many were recorded."""
    now = now or timezone.now()
    step = dt.timedelta(minutes=settings.ESCALATION_MINUTES)
    plans = _plans()
    fired = 0
    due = Incident.objects.open().filter(severity__in=plans, created_at__lte=now - step)
    for incident in due.select_related("commander"):
        plan = plans[incident.severity]
        level = _next_level(incident, plan.levels, now, step)
        if level is None:
            continue
        target, notify = plan.whom(level, incident, now)
        _, event = record_escalation(
            incident,
            level,
            severities=[incident.severity],
            notify=notify,
            target=target,
            chain=plan.chain,
        )
        fired += event is not None
    return fired


def _plans() -> dict[str, Plan]:
    """Each escalating severity's plan: the active chains' (the oldest chain listing a
    severity), else the rule without a chain."""
    chains = list(EscalationChain.objects.active().with_steps())
    if not chains:
        return {Severity.CRITICAL: _plan_without_chains()}
    plans = {}
    for severity, chain in chain_by_severity(chains).items():
        steps = {s.level: s for s in chain.steps.all()}
        plans[severity] = Plan(sorted(steps), partial(_step_whom, steps), chain.pk)
    return plans


def _step_whom(
    steps: dict[int, EscalationStep], level: int, incident: Incident, now: dt.datetime
) -> tuple[str, list[int]]:
    return whom(steps[level], incident, now)


def chain_by_severity(chains: Iterable[EscalationChain]) -> dict[str, EscalationChain]:
    """The chain each severity follows: the oldest active chain that lists it."""
    chosen: dict[str, EscalationChain] = {}
    for chain in chains:
        for severity in chain.severities or []:
            if severity in Severity.values:
                chosen.setdefault(severity, chain)
    return chosen


def _next_level(
    incident: Incident, levels: list[int], now: dt.datetime, step: dt.timedelta
) -> int | None:
    """The lowest level that is due (``level × step`` old) and not yet recorded, if any;
    nothing once someone acknowledged."""
    age_levels = int((now - incident.created_at) / step) if step else 1
    due = [level for level in levels if level <= age_levels]
    if not due or is_acknowledged(incident):
        return None
    done = set(
        Event.objects.filter(incident=incident, kind=ESCALATED).values_list(
            "data__level", flat=True
        )
    )
    # One level per scan: a long outage of the worker must not fire them all at once.
    return next((level for level in due if level not in done), None)


def whom(step: EscalationStep, incident: Incident, now: dt.datetime) -> tuple[str, list[int]]:
    """The target this step names and the ids of the people it calls, among those who may
    read the incident (need to know); the admins when that leaves nobody."""
    target, people = step.target, []
    if step.target in (EscalationStep.ON_CALL, EscalationStep.NEXT_ON_CALL):
        rotation = Rotation.objects.active().with_schedule(now).filter(pk=step.rotation_id).first()
        if rotation is not None:
            schedule = Schedule.of(rotation)
            if step.target == EscalationStep.ON_CALL:
                people = [schedule.on_call(now)]
            else:
                upcoming = schedule.next_on_call(now)
                people = [upcoming[0] if upcoming else None]
    elif step.target == EscalationStep.USER:
        people = [step.user]
    elif step.target == EscalationStep.MANAGER:
        manager = _manager_of(incident.commander)
        if manager is not None:
            people = [manager]
        else:
            target, people = ADMINS, list(_admins())
    readers = _readers(incident, [p for p in people if p is not None and p.is_active])
    if not readers:
        # Nobody the step names can take the call (an empty rotation, a person who left, an
        # on-call engineer outside a restricted incident): an alert must still reach someone.
        return ADMINS, _readers(incident, list(_admins()))
    return target, readers


def _manager_of(commander: Any) -> Any:
    if commander is None:
        return None
    profile = Profile.objects.filter(user=commander).select_related("manager").first()
    manager = profile.manager if profile is not None else None
    return manager if manager is not None and manager.is_active else None


def _admins() -> Iterable[Any]:
    return get_user_model().objects.filter(is_active=True, is_superuser=True).order_by("pk")


def _admins_and_executives() -> Iterable[Any]:
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=EXECUTIVE))
        .distinct()
        .order_by("pk")
    )


def _readers(incident: Incident, people: list[Any]) -> list[int]:
    load_roles(people)
    audience = incident.audience()
    return sorted({p.pk for p in people if sees(roles_of(p), p.pk, audience)})


def _plan_without_chains() -> Plan:
    """Without any active chain, today's rule: critical incidents, ``ESCALATION_LEVELS``
    levels, each calling the admins and executives (read once per scan, when a level is
    due)."""
    everyone: list[Any] | None = None

    def admins_and_executives(
        level: int, incident: Incident, now: dt.datetime
    ) -> tuple[str, list[int]]:
        nonlocal everyone
        if everyone is None:
            everyone = list(_admins_and_executives())
        return DEFAULT, _readers(incident, everyone)

    return Plan(list(range(1, settings.ESCALATION_LEVELS + 1)), admins_and_executives)
