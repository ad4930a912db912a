"""The numbers on the dashboard, computed from the incidents and the event log (reads only)."""

from __future__ import annotations

import datetime as dt
import logging
import statistics
from dataclasses import dataclass
from typing import Any

import jdatetime
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.utils import timezone

from incidents.affected.campaigns import with_left_to_plan
from incidents.choices import OPEN_STATES, SEVERITY_RANK, Severity, State
from incidents.models import Event, Incident, NoticeCampaign, Obligation
from incidents.workspace.updates import is_overdue, with_latest_update
from notifier.models import Delivery

log = logging.getLogger(__name__)

# When an incident entered each open state: the lifecycle stamps these fields.
ENTERED_AT = {
    State.DETECTED: "detected_at",
    State.SCOPING: "scoping_started_at",
    State.RESTORING: "restoring_started_at",
    State.RESTORED: "restored_at",
    State.REFERRED: "referred_at",
}
# Median durations, all measured from detection: scoping ends when restoration may start.
MEDIANS = (
    ("scope", "restoring_started_at"),
    ("restore", "restored_at"),
    ("refer", "referred_at"),
)
WINDOW_DAYS = 90
# Campaigns in flight listed on the dashboard (there is rarely more than one per incident).
CAMPAIGN_ROWS = 20
# An executive reads a screenful; the full list is one click away (and each row costs render
# time on every live refresh: bench/README.md, "Dashboard").
OPEN_ROWS = 50
# What a dashboard row shows of the newest status update: its opening words, on one line.
UPDATE_LINE_CHARS = 140


@dataclass(frozen=True)
class OpenIncident:
    incident: Incident
    age: dt.timedelta
    in_state: dt.timedelta
    # The newest status update's opening words ("" for none) and whether the next is overdue.
    update_line: str = ""
    update_overdue: bool = False


def counts_by(field: str, values: list[tuple[str, str]], queryset: Any) -> list[dict[str, Any]]:
    found = dict(queryset.values_list(field).annotate(n=Count("id")).order_by())
    return [{"value": v, "label": label, "count": found.get(v, 0)} for v, label in values]


def open_incidents(now: dt.datetime, reader: Any, limit: int = OPEN_ROWS) -> list[OpenIncident]:
    """The most severe open incidents ``reader`` may see, first; oldest first within a
    severity."""
    rows = []
    fields = ("reference", "title", "severity", "state", "next_update_at", *ENTERED_AT.values())
    rank = Case(
        *[When(severity=s, then=Value(r)) for s, r in SEVERITY_RANK.items()],
        output_field=IntegerField(),
    )
    visible = Incident.objects.visible_to(reader).open()
    # The newest update of each row comes in the same query (subqueries), not one per row.
    ordered = with_latest_update(visible.only(*fields)).order_by(-rank, "detected_at")
    for inc in ordered[:limit]:
        entered = getattr(inc, ENTERED_AT[inc.state]) or inc.detected_at
        line = " ".join((inc.latest_update_start or "").split())[:UPDATE_LINE_CHARS]
        overdue = is_overdue(inc, now)
        rows.append(OpenIncident(inc, now - inc.detected_at, now - entered, line, overdue))
    return rows


def medians(now: dt.datetime) -> dict[str, dt.timedelta | None]:
    since = now - dt.timedelta(days=WINDOW_DAYS)
    result: dict[str, dt.timedelta | None] = {}
    for name, field in MEDIANS:
        pairs = Incident.objects.filter(**{f"{field}__gte": since}).values_list(
            "detected_at", field
        )
        spans = [(end - start).total_seconds() for start, end in pairs[:5000]]
        result[name] = dt.timedelta(seconds=statistics.median(spans)) if spans else None
    return result


def _month_of(moment: dt.datetime, jalali: bool) -> tuple[int, int]:
    """(year, month) of a local moment, in the Jalali or the Gregorian calendar."""
    if jalali:
        day = jdatetime.date.fromgregorian(date=moment.date())
        return day.year, day.month
    return moment.year, moment.month


def _first_day(year: int, month: int, jalali: bool) -> dt.date:
    """The Gregorian date a month starts on (a Jalali month starts mid-Gregorian-month)."""
    return jdatetime.date(year, month, 1).togregorian() if jalali else dt.date(year, month, 1)


def restore_months(now: dt.datetime, months: int = 6, *, jalali: bool = False) -> list[dict]:
    """Median hours from detection to restoration for each of the last ``months`` months, in
    the reader's calendar: Persian readers count Jalali months, so a bar labelled Azar holds
    what was restored in Azar. ``month`` is the Gregorian date the month starts on."""
    year, month = _month_of(timezone.localtime(now), jalali)
    index = year * 12 + month - 1
    buckets: dict[tuple[int, int], list[float]] = {
        (i // 12, i % 12 + 1): [] for i in range(index - months + 1, index + 1)
    }
    first = timezone.make_aware(
        dt.datetime.combine(_first_day(*next(iter(buckets)), jalali), dt.time())
    )
    pairs = Incident.objects.filter(restored_at__gte=first).values_list(
        "detected_at", "restored_at"
    )
    for start, end in pairs[:20000]:
        key = _month_of(timezone.localtime(end), jalali)
        if key in buckets:
            buckets[key].append((end - start).total_seconds() / 3600)
    return [
        {
            "month": _first_day(y, m, jalali),
            "hours": statistics.median(v) if v else 0.0,
            "n": len(v),
        }
        for (y, m), v in buckets.items()
    ]


def next_deadlines(reader: Any, limit: int = 8) -> list[Any] | None:
    """Open legal obligations ``reader`` may see, soonest first (None if they cannot be read
    right now)."""
    try:
        return list(Obligation.objects.visible_to(reader).open().for_dashboard()[:limit])
    except Exception:  # one failing panel must not take the whole dashboard down
        log.exception("legal deadlines unavailable")
        return None


def dead_deliveries(reader: Any, limit: int = 8) -> tuple[int, list[Any]] | None:
    """Telegram messages that gave up: how many, and the latest of those ``reader`` may see
    (None if they cannot be read right now)."""
    try:
        dead = Delivery.objects.dead()
        shown = dead.filter(
            Q(incident__isnull=True) | Q(incident__in=Incident.objects.visible_to(reader))
        )
        return dead.count(), list(shown.select_related("incident").order_by("-id")[:limit])
    except Exception:  # same reason as above
        log.exception("dead deliveries unavailable")
        return None


def campaigns_in_flight(reader: Any, limit: int = CAMPAIGN_ROWS) -> list[NoticeCampaign]:
    """Notice campaigns approved or being sent, of the incidents ``reader`` may see, oldest
    first, each annotated ``left_to_plan``: one query, whatever their number (their counts are
    one more: ``tally``)."""
    visible = Incident.objects.visible_to(reader)
    campaigns = NoticeCampaign.objects.in_flight().filter(incident__in=visible)
    ordered = with_left_to_plan(campaigns.select_related("incident")).order_by("created_at", "id")
    return list(ordered[:limit])


def dashboard(
    now: dt.datetime | None = None, *, jalali: bool = False, reader: Any = None
) -> dict[str, Any]:
    """The numbers count every incident (restricted ones included: an executive must see how
    much is open); what names an incident (rows, deadlines, events) is what ``reader`` may see,
    so a restricted incident is counted without its title or reference."""
    now = now or timezone.now()
    open_qs = Incident.objects.open()
    open_total = open_qs.count()
    return {
        "now": now,
        "by_state": counts_by("state", [(s.value, s.label) for s in OPEN_STATES], open_qs),
        "all_states": counts_by("state", State.choices, Incident.objects.all()),
        "by_severity": counts_by("severity", Severity.choices, open_qs),
        "open_total": open_total,
        "open_hidden": open_total - Incident.objects.visible_to(reader).open().count(),
        "critical_open": open_qs.filter(severity=Severity.CRITICAL).count(),
        "open_rows": open_incidents(now, reader),
        "medians": medians(now),
        "restore_months": restore_months(now, jalali=jalali),
        "deadlines": next_deadlines(reader),
        "dead": dead_deliveries(reader),
        "latest_events": list(
            Event.objects.visible_to(reader).select_related("incident").order_by("-seq")[:12]
        ),
        # get_FOO_display() rebuilds its lookup (forcing every lazy label) on each call: with
        # hundreds of rows that was a third of the render (bench/README.md, "Dashboard").
        "state_labels": {value: str(label) for value, label in State.choices},
        "severity_labels": {value: str(label) for value, label in Severity.choices},
    }
