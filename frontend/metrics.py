"""The numbers on the dashboard, computed from the incidents and the event log (reads only)."""

from __future__ import annotations

import datetime as dt
import logging
import statistics
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Count, IntegerField, Value, When
from django.utils import timezone

from incidents.choices import OPEN_STATES, SEVERITY_RANK, Severity, State
from incidents.models import Event, Incident, Obligation
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
# An executive reads a screenful; the full list is one click away (and each row costs render
# time on every live refresh: bench/README.md, "Dashboard").
OPEN_ROWS = 50


@dataclass(frozen=True)
class OpenIncident:
    incident: Incident
    age: dt.timedelta
    in_state: dt.timedelta


def counts_by(field: str, values: list[tuple[str, str]], queryset: Any) -> list[dict[str, Any]]:
    found = dict(queryset.values_list(field).annotate(n=Count("id")).order_by())
    return [{"value": v, "label": label, "count": found.get(v, 0)} for v, label in values]


def open_incidents(now: dt.datetime, limit: int = OPEN_ROWS) -> list[OpenIncident]:
    """The most severe open incidents first, oldest first within a severity."""
    rows = []
    fields = ("reference", "title", "severity", "state", *ENTERED_AT.values())
    rank = Case(
        *[When(severity=s, then=Value(r)) for s, r in SEVERITY_RANK.items()],
        output_field=IntegerField(),
    )
    ordered = Incident.objects.open().only(*fields).order_by(-rank, "detected_at")
    for inc in ordered[:limit]:
        entered = getattr(inc, ENTERED_AT[inc.state]) or inc.detected_at
        rows.append(OpenIncident(inc, now - inc.detected_at, now - entered))
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


def restore_months(now: dt.datetime, months: int = 6) -> list[dict[str, Any]]:
    """Median hours from detection to restoration for each of the last ``months`` months."""
    local = timezone.localtime(now)
    index = local.year * 12 + local.month - 1
    keys = [divmod(i, 12) for i in range(index - months + 1, index + 1)]
    buckets: dict[tuple[int, int], list[float]] = {(y, m + 1): [] for y, m in keys}
    first_year, first_month = next(iter(buckets))
    first = local.replace(
        year=first_year, month=first_month, day=1, hour=0, minute=0, second=0, microsecond=0
    )
    pairs = Incident.objects.filter(restored_at__gte=first).values_list(
        "detected_at", "restored_at"
    )
    for start, end in pairs[:20000]:
        end_local = timezone.localtime(end)
        key = (end_local.year, end_local.month)
        if key in buckets:
            buckets[key].append((end - start).total_seconds() / 3600)
    return [
        {"month": dt.date(y, m, 1), "hours": statistics.median(v) if v else 0.0, "n": len(v)}
        for (y, m), v in buckets.items()
    ]


def next_deadlines(limit: int = 8) -> list[Any] | None:
    """Open legal obligations, soonest first (None if they cannot be read right now)."""
    try:
        return list(Obligation.objects.open().for_dashboard()[:limit])
    except Exception:  # one failing panel must not take the whole dashboard down
        log.exception("legal deadlines unavailable")
        return None


def dead_deliveries(limit: int = 8) -> tuple[int, list[Any]] | None:
    """Telegram messages that gave up (None if they cannot be read right now)."""
    try:
        dead = Delivery.objects.dead()
        return dead.count(), list(dead.select_related("incident").order_by("-id")[:limit])
    except Exception:  # same reason as above
        log.exception("dead deliveries unavailable")
        return None


def dashboard(now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    open_qs = Incident.objects.open()
    return {
        "now": now,
        "by_state": counts_by("state", [(s.value, s.label) for s in OPEN_STATES], open_qs),
        "all_states": counts_by("state", State.choices, Incident.objects.all()),
        "by_severity": counts_by("severity", Severity.choices, open_qs),
        "open_total": open_qs.count(),
        "critical_open": open_qs.filter(severity=Severity.CRITICAL).count(),
        "open_rows": open_incidents(now),
        "medians": medians(now),
        "restore_months": restore_months(now),
        "deadlines": next_deadlines(),
        "dead": dead_deliveries(),
        "latest_events": list(Event.objects.select_related("incident").order_by("-seq")[:12]),
        # get_FOO_display() rebuilds its lookup (forcing every lazy label) on each call: with
        # hundreds of rows that was a third of the render (bench/README.md, "Dashboard").
        "state_labels": {value: str(label) for value, label in State.choices},
        "severity_labels": {value: str(label) for value, label in Severity.choices},
    }
