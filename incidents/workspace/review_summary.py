"""The review's summary, drafted from the record: the phases the incident went through with
their durations (from the lifecycle's stamps), how long it took to acknowledge, to scope, to
restore and to refer, and the timeline in words (incidents/legal/dossier_timeline.py). It writes
nothing and costs the same few queries however long the record.

The stamps hold the latest pass through each phase: an incident reopened after closing is
summarised from its new scoping on. "To acknowledge" counts from when the incident was logged
(the alert went out then); the others from detection, when the breach was found."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from incidents.acknowledgements import ACKNOWLEDGED
from incidents.choices import State
from incidents.legal.dossier_timeline import Names, TimelineRow, timeline
from incidents.models import Incident

# Each phase: the state, the stamp that starts it, and the stamps that may end it (the first
# one set ends it). "Detected" starts at detection.
PHASES = (
    (State.DETECTED, "detected_at", ("scoping_started_at", "dismissed_at")),
    (State.SCOPING, "scoping_started_at", ("restoring_started_at", "dismissed_at")),
    (State.RESTORING, "restoring_started_at", ("restored_at",)),
    (State.RESTORED, "restored_at", ("referred_at", "closed_at")),
    (State.REFERRED, "referred_at", ("closed_at",)),
)
# The milestones: name, the stamp that reaches it, and the moment it is counted from.
MILESTONES = (
    ("time_to_scope", "restoring_started_at", "detected_at"),
    ("time_to_restore", "restored_at", "detected_at"),
    ("time_to_refer", "referred_at", "detected_at"),
)


@dataclass
class Phase:
    state: str
    label: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    duration: dt.timedelta
    ongoing: bool


@dataclass
class Summary:
    phases: list[Phase]
    # Each milestone's span, None when the incident has not reached it.
    milestones: dict[str, dt.timedelta | None]
    acknowledged_at: dt.datetime | None
    timeline: list[TimelineRow] = field(default_factory=list)


def phases(incident: Incident, now: dt.datetime) -> list[Phase]:
    """The phases the incident has entered, in order; the current one runs until ``now``."""
    found = []
    for state, start_name, end_names in PHASES:
        start = getattr(incident, start_name)
        if start is None:
            continue
        end = next((getattr(incident, n) for n in end_names if getattr(incident, n)), None)
        # A phase re-entered (a reopen) has a start after its old end: it runs on.
        if end is not None and end < start:
            end = None
        ongoing = end is None and incident.state == state
        if end is None and not ongoing:
            continue  # skipped: e.g. "referred" of an incident closed without referral
        stop = end or now
        found.append(
            Phase(
                str(state),
                str(State(state).label),
                start,
                end,
                max(stop - start, dt.timedelta()),
                ongoing,
            )
        )
    return found


def milestones(incident: Incident, acknowledged_at: dt.datetime | None) -> dict[str, Any]:
    spans: dict[str, dt.timedelta | None] = {
        "time_to_acknowledge": _span(incident.created_at, acknowledged_at)
    }
    for name, reached, since in MILESTONES:
        spans[name] = _span(getattr(incident, since), getattr(incident, reached))
    return spans


def _span(start: dt.datetime | None, end: dt.datetime | None) -> dt.timedelta | None:
    if start is None or end is None:
        return None
    return max(end - start, dt.timedelta())


def review_summary(
    incident: Incident, *, now: dt.datetime | None = None, with_timeline: bool = True
) -> Summary:
    """The summary of ``incident`` (four queries with the timeline, one without). Call with
    the reader's language and zone active: the timeline's words and days are theirs."""
    now = now or timezone.now()
    if with_timeline:
        events = list(incident.events.order_by("seq"))
        acknowledged = next((e.created_at for e in events if e.kind == ACKNOWLEDGED), None)
        obligations = incident.obligations.select_related("rule")
        names = Names.of(incident.evidence.all(), obligations, events)
        rows = list(timeline(events, names))
    else:
        first = incident.events.filter(kind=ACKNOWLEDGED).order_by("seq").first()
        acknowledged, rows = (first.created_at if first else None), []
    return Summary(
        phases=phases(incident, now),
        milestones=milestones(incident, acknowledged),
        acknowledged_at=acknowledged,
        timeline=rows,
    )
