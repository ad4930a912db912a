"""The numbers on the dashboard, computed from the incidents and the event log (reads only)."""

from __future__ import annotations

import datetime as dt
import logging
import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, reduce
from typing import Any

import jdatetime
from django.db import connections
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    F,
    Func,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.utils import timezone

from core.roles import roles_of, stand_in
from frontend.kept import Checked, kept
from incidents.affected.campaigns import with_left_to_plan
from incidents.choices import OPEN_STATES, SETTLED_STATES, Severity, State
from incidents.models import Event, Incident, NoticeCampaign, Obligation
from incidents.models.events import EventQuerySet
from incidents.models.incident import (
    IsOpen,
    SeverityRank,
    of_visible_incidents,
    roles_see_incidents,
    sees_every_incident,
)
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
# The figures that do not move with time, only with the events that move them (the settled
# states' counts, the closed months' restore medians): kept longer (their check then reads up
# to this long a stretch of the log, by its seq).
SETTLED_SECONDS = 3600
# What a dashboard row shows of the newest status update: its opening words, on one line.
UPDATE_LINE_CHARS = 140
# The latest timeline entries on the dashboard.
LATEST_ENTRIES = 12
# How many readers' queries a process keeps built (``_shaped``): one per variant that renders.
SHAPES = 256


@dataclass(frozen=True)
class OpenIncident:
    incident: Incident
    age: dt.timedelta
    in_state: dt.timedelta
    # The newest status update's opening words ("" for none) and whether the next is overdue.
    update_line: str = ""
    update_overdue: bool = False


# How a figure that moves only with some events is read: ``keep(name, moves, read)`` returns
# what ``read`` returns, or what it returned before while no event since ``moves`` it
# (``dashboard``'s ``kept`` entries); the default reads it.
Keep = Callable[[str, Callable[[Any], Any], Callable[[], Any]], Any]


def _read(name: str, moves: Callable[[Any], Any], read: Callable[[], Any]) -> Any:
    return read()


def state_severity_counts(keep: Keep = _read) -> list[tuple[str, str, int]]:
    """How many incidents there are of each (state, severity) pair, which the index on those
    columns answers alone; every count of the dashboard adds these up. The settled states'
    through ``keep``: only their transitions and severity edits move them
    (``Event.objects.that_move_settled_counts``), and they are most of the rows."""
    pairs = Incident.objects.values_list("state", "severity").annotate(n=Count("*")).order_by()
    others = [state for state in State.values if state not in SETTLED_STATES]

    def settled() -> list[tuple[str, str, int]]:
        return list(pairs.filter(state__in=SETTLED_STATES))

    moves = EventQuerySet.that_move_settled_counts
    return [*keep("settled-counts", moves, settled), *pairs.filter(state__in=others)]


def counts(pairs: list[tuple[str, str, int]], hidden: int | None) -> dict[str, Any]:
    """The dashboard's counts from ``pairs`` (``state_severity_counts``): every incident by
    state, the open ones by state and by severity, the open critical ones, and the open ones
    the reader may not read (``hidden``, from ``open_hidden``; None: all of them)."""
    by_state: dict[str, int] = {}
    by_severity: dict[str, int] = {}
    for state, severity, n in pairs:
        by_state[state] = by_state.get(state, 0) + n
        if state in OPEN_STATES:
            by_severity[severity] = by_severity.get(severity, 0) + n
    open_total = sum(by_severity.values())
    return {
        "by_state": _rows(by_state, [(s.value, s.label) for s in OPEN_STATES]),
        "all_states": _rows(by_state, State.choices),
        "by_severity": _rows(by_severity, Severity.choices),
        "open_total": open_total,
        "open_hidden": open_total if hidden is None else hidden,
        "critical_open": by_severity.get(Severity.CRITICAL, 0),
    }


def _rows(found: dict[str, int], values: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [{"value": v, "label": label, "count": found.get(v, 0)} for v, label in values]


def open_hidden(reader: Any, keep: Callable[[Callable[[], int]], int] | None = None) -> int | None:
    """How many open incidents ``reader`` may not read: None for all of them (no role), 0 for
    an admin, else the restricted ones they neither command nor belong to, counted among the
    restricted (from the index incident_restricted_state), not among every open one; through
    ``keep`` (the reader's own ``kept`` entry), which reuses the count while no event moves it.
    The count walks the restricted incidents the reader reads: thousands for an engineer on
    every restricted incident of the bench data (bench/README.md, "Scale")."""
    roles = roles_of(reader)
    if not roles_see_incidents(roles):
        return None
    if sees_every_incident(roles):
        return 0

    def read() -> int:
        restricted = Incident.objects.open().filter(restricted=True)
        return restricted.count() - (restricted & Incident.objects.visible_to(reader)).count()

    return read() if keep is None else keep(read)


def open_incidents(now: dt.datetime, reader: Any, limit: int = OPEN_ROWS) -> list[OpenIncident]:
    """The most severe open incidents ``reader`` may see, first; oldest first within a
    severity."""
    rows = []
    for inc in _shaped(_open_rows, roles_of(reader), getattr(reader, "pk", None), limit).all():
        entered = getattr(inc, ENTERED_AT[inc.state]) or inc.detected_at
        line = " ".join((inc.latest_update_start or "").split())[:UPDATE_LINE_CHARS]
        overdue = is_overdue(inc, now)
        rows.append(OpenIncident(inc, now - inc.detected_at, now - entered, line, overdue))
    return rows


def latest_events(reader: Any, limit: int = LATEST_ENTRIES) -> list[Event]:
    """The newest events ``reader`` may see, newest first, with their incidents."""
    query = _shaped(_latest_events, roles_of(reader), getattr(reader, "pk", None), limit)
    return list(query.all())


def _open_rows(reader: Any, limit: int) -> QuerySet[Incident]:
    fields = ("reference", "title", "severity", "state", "next_update_at", *ENTERED_AT.values())
    visible = Incident.objects.visible_to(reader).filter(IsOpen())
    # The newest update of each row comes in the same query (subqueries), not one per row; the
    # order is the index incident_open_by_severity's, which the query reads to its limit.
    ordered = with_latest_update(visible.only(*fields)).order_by(
        SeverityRank().desc(), "detected_at"
    )
    return ordered[:limit]


def _latest_events(reader: Any, limit: int) -> QuerySet[Event]:
    return Event.objects.visible_to(reader).select_related("incident").order_by("-seq")[:limit]


@lru_cache(maxsize=SHAPES)
def _shaped(
    build: Callable[[Any, int], QuerySet], roles: frozenset[str], reader_id: int | None, limit: int
) -> QuerySet:
    """The query ``build`` makes for a reader of ``roles`` and id ``reader_id`` (all that
    ``visible_to`` reads of a reader), built once per process and reader; each caller reads a
    copy (``.all()``: unevaluated, read anew), never this one. Nothing of the moment or the
    data is in it, only its shape: building the open rows' and latest entries' (the visibility
    condition, the update subqueries) was ~3 ms of a ~25 ms dashboard render, each time
    (bench/README.md, "Dashboard viewers"). Django REST framework's views keep their
    ``queryset`` the same way."""
    return build(stand_in(reader_id, roles), limit)


class Span(Func):
    """The time from the ``start`` to the ``end`` moment (both DateTimeFields), as a duration.

    On SQLite, Django's own subtraction of two datetimes calls back into Python for every row
    (parsing both timestamps): most of a median's time at 100,000 incidents. julianday() is
    SQLite's own, exact to the millisecond (the digits of a time it reads)."""

    arity = 2
    arg_joiner = " - "
    template = "(%(expressions)s)"
    output_field = DurationField()

    def __init__(self, end: str, start: str) -> None:
        super().__init__(F(end), F(start))

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Whole milliseconds in microseconds: how SQLite stores a DurationField.
        template = "CAST(ROUND((julianday(%(expressions)s)) * 86400000) AS INTEGER) * 1000"
        return self.as_sql(compiler, connection, template=template, arg_joiner=") - julianday(")


class Median(Aggregate):
    """PostgreSQL's exact median, the mean of the two middle values for an even count (as
    ``statistics.median``): an ordered-set aggregate, for which Django has no class."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


def _middle(queryset: Any, span: Any, count: int) -> dt.timedelta | None:
    """The exact median of ``span`` over the ``count`` rows of ``queryset``, where there is no
    median aggregate (SQLite): the one or two middle rows by ``span``, which the database
    finds keeping only the rows up to them (seven times cheaper than window functions here)."""
    if not count:
        return None
    spans = queryset.annotate(span=span).order_by("span").values_list("span", flat=True)
    middle = list(spans[(count - 1) // 2 : count // 2 + 1])
    return sum(middle, dt.timedelta()) / len(middle)


def medians_by(
    queryset: Any, windows: dict[str, tuple[Q, Any]], within: Q | None = None
) -> dict[str, tuple[dt.timedelta | None, int]]:
    """For each name, the median duration ``span`` of the rows matching its condition, and how
    many there are: computed in the database over every row, in a constant number of queries
    (one on PostgreSQL; elsewhere one for the counts and one per median). ``within``: a
    condition every window implies, one range by which PostgreSQL reads them all (rather than
    the windows' ``OR``); elsewhere each window is read by its own."""
    if connections[queryset.db].vendor != "postgresql":
        found = _counts(queryset, {name: where for name, (where, _) in windows.items()})
        return {
            name: (_middle(queryset.filter(where), span, found[name]), found[name])
            for name, (where, span) in windows.items()
        }
    figures = {f"n_{name}": Count("id", filter=where) for name, (where, _) in windows.items()}
    for name, (where, span) in windows.items():
        figures[f"m_{name}"] = Median(span, filter=where, output_field=DurationField())
    either = reduce(operator.or_, (where for where, _ in windows.values()))
    found = queryset.filter(either if within is None else within).aggregate(**figures)
    return {name: (found[f"m_{name}"], found[f"n_{name}"]) for name in windows}


def _counts(queryset: Any, conditions: dict[str, Q]) -> dict[str, int]:
    """How many rows of ``queryset`` match each condition, in one query of one count each (the
    condition's own index range): one count filtered over the rows matching any condition made
    SQLite read every incident for conditions on different columns (36 ms at 100,000)."""
    each = {
        name: Subquery(
            queryset.filter(where)
            .order_by()
            .values(one=Value(1))
            .annotate(n=Count("*"))
            .values("n")
        )
        for name, where in conditions.items()
    }
    row = queryset.model.objects.order_by().annotate(**each).values(*each)[:1]
    found = row[0] if row else {}
    return {name: found.get(name) or 0 for name in conditions}


def medians(now: dt.datetime) -> dict[str, dt.timedelta | None]:
    """Median time from detection to each milestone reached in the last WINDOW_DAYS."""
    since = now - dt.timedelta(days=WINDOW_DAYS)
    windows = {
        name: (Q(**{f"{field}__gte": since}), Span(field, "detected_at")) for name, field in MEDIANS
    }
    found = medians_by(Incident.objects.all(), windows)
    return {name: median for name, (median, _) in found.items()}


def _month_of(moment: dt.datetime, jalali: bool) -> tuple[int, int]:
    """(year, month) of a local moment, in the Jalali or the Gregorian calendar."""
    if jalali:
        day = jdatetime.date.fromgregorian(date=moment.date())
        return day.year, day.month
    return moment.year, moment.month


def _first_day(year: int, month: int, jalali: bool) -> dt.date:
    """The Gregorian date a month starts on (a Jalali month starts mid-Gregorian-month)."""
    return jdatetime.date(year, month, 1).togregorian() if jalali else dt.date(year, month, 1)


def _month_starts(now: dt.datetime, months: int, jalali: bool) -> list[dt.date]:
    """The Gregorian dates the last ``months`` months start on, and the next month's (the end
    of the last bucket), in the reader's calendar."""
    year, month = _month_of(timezone.localtime(now), jalali)
    index = year * 12 + month - 1
    return [_first_day(i // 12, i % 12 + 1, jalali) for i in range(index - months + 1, index + 2)]


def restore_months(
    now: dt.datetime,
    months: int = 6,
    *,
    jalali: bool = False,
    keep: Keep = _read,
) -> list[dict]:
    """Median hours from detection to restoration for each of the last ``months`` months, in
    the reader's calendar: Persian readers count Jalali months, so a bar labelled Azar holds
    what was restored in Azar. ``month`` is the Gregorian date the month starts on.

    The months before the current one are read through ``keep``: only a restoration or an
    edit of a detection time moves them (``Event.objects.that_move_closed_months``), not the
    transitions and edits that move the other figures, so they need not be sorted again after
    each of those (at 100,000 incidents, ~10,000 rows: most of the figures' time)."""
    starts = _month_starts(now, months, jalali)
    # A month runs from local midnight of its first day: what the reader calls that month.
    bounds = [timezone.make_aware(dt.datetime.combine(day, dt.time())) for day in starts]

    def closed() -> list[tuple[dt.timedelta | None, int]]:
        return _restore_medians(bounds[:-1])

    name = f"closed-months:{starts[0]}:{starts[-2]}"
    past = keep(name, EventQuerySet.that_move_closed_months, closed)
    bars = []
    for i, (median, n) in enumerate([*past, *_restore_medians(bounds[-2:])]):
        hours = median.total_seconds() / 3600 if median is not None else 0.0
        bars.append({"month": starts[i], "hours": hours, "n": n})
    return bars


def _restore_medians(bounds: list[dt.datetime]) -> list[tuple[dt.timedelta | None, int]]:
    """(median, count) of the time from detection to restoration for the incidents restored
    between each two consecutive ``bounds``. Each month is its own range of the index on
    restored_at (a range over all of them as well made SQLite count every month's rows for
    each month); PostgreSQL reads them in one range."""
    span = Span("restored_at", "detected_at")
    windows = {
        str(i): (Q(restored_at__gte=bounds[i], restored_at__lt=bounds[i + 1]), span)
        for i in range(len(bounds) - 1)
    }
    within = Q(restored_at__gte=bounds[0], restored_at__lt=bounds[-1])
    found = medians_by(Incident.objects.all(), windows, within)
    return [found[str(i)] for i in range(len(bounds) - 1)]


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
        shown = dead.filter(incident__isnull=True) | of_visible_incidents(dead, reader)
        return dead.count(), list(shown.select_related("incident").order_by("-id")[:limit])
    except Exception:  # same reason as above
        log.exception("dead deliveries unavailable")
        return None


def campaigns_in_flight(
    reader: Any, limit: int = CAMPAIGN_ROWS, among: list[int] | None = None
) -> list[NoticeCampaign]:
    """Notice campaigns approved or being sent, of the incidents ``reader`` may see, oldest
    first, each annotated ``left_to_plan``: one query, whatever their number (their counts are
    one more: ``tally``). ``among``: only these (``campaign_ids_in_flight`` read earlier; none,
    no query)."""
    if among is not None and not among:
        return []
    campaigns = of_visible_incidents(NoticeCampaign.objects.in_flight(), reader)
    if among is not None:
        campaigns = campaigns.filter(pk__in=among)
    ordered = with_left_to_plan(campaigns.select_related("incident")).order_by("created_at", "id")
    return list(ordered[:limit])


def campaign_ids_in_flight(reader: Any, limit: int = CAMPAIGN_ROWS) -> list[int]:
    """Which campaigns ``campaigns_in_flight`` lists: they enter and leave it by their
    transitions, all of them events; their progress moves without any."""
    campaigns = of_visible_incidents(NoticeCampaign.objects.in_flight(), reader)
    return list(campaigns.order_by("created_at", "id").values_list("pk", flat=True)[:limit])


def readers_parts(reader: Any) -> dict[str, Any]:
    """What the dashboard lists for ``reader`` alone besides its rows and entries: their legal
    deadlines and the dead deliveries they see. ``dashboard`` reads them itself unless given
    them. (Not the hidden count: it is kept apart, by the fewer events that move it,
    ``that_move_readers``; at 100,000 incidents an engineer's count walks thousands of
    restricted ones.)"""
    return {"deadlines": next_deadlines(reader), "dead": dead_deliveries(reader)}


def figures(
    now: dt.datetime,
    jalali: bool,
    keep: Keep = _read,
) -> dict[str, Any]:
    """What every reader's dashboard shows alike, read from every incident: the counts by
    state and severity, the medians and the restore months (in the active time zone; what
    moves with fewer events than the rest through ``keep``)."""
    return {
        "pairs": state_severity_counts(keep),
        "medians": medians(now),
        "restore_months": restore_months(now, jalali=jalali, keep=keep),
    }


def figures_key(now: dt.datetime, jalali: bool) -> str:
    """The kept figures' cache key: the minute (the medians' windows move with it), the
    calendar and the time zone they are written in."""
    zone = timezone.get_current_timezone_name()
    return f"dashboard-figures:{now:%Y%m%d%H%M}:{int(jalali)}:{zone}"


def hidden_key(now: dt.datetime, reader: Any) -> str:
    roles = ",".join(sorted(roles_of(reader)))
    return f"dashboard-hidden:{now:%Y%m%d%H%M}:{getattr(reader, 'pk', None)}:{roles}"


def kept_entries(now: dt.datetime, jalali: bool, reader: Any) -> dict[str, Callable[[Any], Any]]:
    """What ``dashboard`` keeps for ``reader`` with a ``log``, and the events that move each:
    for a caller that checks them together with its own (``frontend.kept.check``)."""
    return {
        figures_key(now, jalali): EventQuerySet.that_move_figures,
        hidden_key(now, reader): EventQuerySet.that_move_readers,
    }


def dashboard(
    now: dt.datetime | None = None,
    *,
    jalali: bool = False,
    reader: Any = None,
    log: tuple[int, str] | None = None,
    parts: dict[str, Any] | None = None,
    checked: Checked | None = None,
) -> dict[str, Any]:
    """The numbers count every incident (restricted ones included: an executive must see how
    much is open); what names an incident (rows, deadlines, events) is what ``reader`` may see,
    so a restricted incident is counted without its title or reference. With ``log`` (the
    seq and hash start the caller read before), the numbers and the reader's hidden count are
    ``kept`` (``checked``: the caller looked them up already, ``kept_entries``). ``parts``: the
    reader's own lists (``readers_parts``) as the caller read or kept them
    (frontend/panels.py); else they are read here."""
    now = now or timezone.now()
    if log is None:
        shared = figures(now, jalali)
        hidden = open_hidden(reader)
    else:
        zone = timezone.get_current_timezone_name()

        def keep(name: str, moves: Callable[[Any], Any], read: Callable[[], Any]) -> Any:
            key = f"dashboard-{name}:{int(jalali)}:{zone}"
            return kept(key, log, read, moves, SETTLED_SECONDS)

        def read_figures() -> dict[str, Any]:
            return figures(now, jalali, keep)

        shared = kept(figures_key(now, jalali), log, read_figures, checked=checked)
        moves = EventQuerySet.that_move_readers
        hidden = open_hidden(
            reader, lambda read: kept(hidden_key(now, reader), log, read, moves, checked=checked)
        )
    if parts is None:
        parts = readers_parts(reader)
    return {
        "now": now,
        **counts(shared["pairs"], hidden),
        "open_rows": open_incidents(now, reader),
        "medians": shared["medians"],
        "restore_months": shared["restore_months"],
        "deadlines": parts["deadlines"],
        "dead": parts["dead"],
        "latest_events": latest_events(reader),
        # get_FOO_display() rebuilds its lookup (forcing every lazy label) on each call: with
        # hundreds of rows that was a third of the render (bench/README.md, "Dashboard").
        "state_labels": {value: str(label) for value, label in State.choices},
        "severity_labels": {value: str(label) for value, label in Severity.choices},
    }
