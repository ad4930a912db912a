"""Escalation: who is called, level by level, when nobody acknowledges an incident in time."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from incidents.acknowledgements import ESCALATED, is_acknowledged, record_escalation
from incidents.choices import Severity
from incidents.models import Event, Incident


def escalate_due(now: dt.datetime | None = None) -> int:
    """Record the next escalation level of critical incidents nobody acknowledged in time.

    The escalation event itself reaches admins and executives through the normal outbox."""
    now = now or timezone.now()
    step = dt.timedelta(minutes=settings.ESCALATION_MINUTES)
    fired = 0
    for incident in Incident.objects.open().filter(
        severity=Severity.CRITICAL, created_at__lte=now - step
    ):
        if is_acknowledged(incident):
            continue
        done = set(
            Event.objects.filter(incident=incident, kind=ESCALATED).values_list(
                "data__level", flat=True
            )
        )
        level = min(
            int((now - incident.created_at) / step) if step else 1, settings.ESCALATION_LEVELS
        )
        for lvl in range(1, level + 1):
            if lvl not in done:
                _, event = record_escalation(incident, lvl)
                fired += event is not None
                break  # one level per scan: a long outage must not fire them all at once
    return fired
