"""The dashboard's panels (``#panels``), rendered once per variant and change, and shared.

A *variant* is everything the panels' HTML depends on: the reader's roles, language and time
zone, and which restricted incidents they read. Readers of one variant get byte-identical HTML,
so it is rendered once per change (the log's seq) and kept in Django's cache (Redis in
production: shared by every web process) for the live dashboards (frontend/live.py) and the
page (``GET /``). Nothing personal is in it: the "Verify now" form carries ``CSRF_SLOT``, which
the page replaces with the request's token and live.js with the page's own.

The render reads as a stand-in reader (``core.roles.stand_in``) built from the variant alone,
never as a live user: a reader of no restricted incident is the stand-in with no id (user 0,
which matches no commander and no member), so an incident restricted while the render runs
cannot slip into HTML that others of the variant receive. A non-admin who reads restricted
incidents gets a variant of their own (their id), rendered with their live membership.

Ages, countdowns and "overdue" marks carry their moments (``<time datetime>``,
``data-overdue-after``) and tick in the browser (relative.js): no render per minute.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.core.cache import cache
from django.db.models import Exists, OuterRef, Value
from django.template.loader import render_to_string
from django.utils import timezone, translation

from core.formats import duration, is_persian
from core.models import Profile
from core.roles import ADMIN, roles_of, stand_in
from frontend import charts, metrics
from frontend.kept import Checked, check, kept, moved_between, read_at
from frontend.views.affected_parts import progress_rows
from frontend.views.review_parts import overdue_follow_ups
from incidents.legal.record import may_verify
from incidents.models import Incident, LogHead, VerificationRun
from incidents.models.events import EventQuerySet

TEMPLATE = "frontend/partials/dashboard_panels.html"
# What the summary tiles, the counts and the two charts show: one kept fragment.
FIGURES = (
    "open_total",
    "critical_open",
    "medians",
    "by_state",
    "by_severity",
    "state_chart",
    "restore_chart",
)
CSRF_SLOT = "csrf-slot"
# A render serves its seq until the next change; this bounds how old the figures that change
# without an event (dead deliveries, the 90-day medians, follow-ups falling overdue) may be
# when a page is loaded (the live dashboards' old minute timer gave the same bound).
CACHE_SECONDS = 60
# How long one process may hold a variant's render before others render it themselves; how
# often, and how long, the others look for its HTML meanwhile (a process that died holding
# the lock must not leave dashboards stale).
LOCK_SECONDS = 10
POLL_SECONDS = 0.005
WAIT_SECONDS = 3.0
# No user has this id: the stand-in for readers of no restricted incident.
NOBODY = 0


@dataclass(frozen=True)
class Variant:
    roles: frozenset[str]
    language: str
    time_zone: str
    member: int | None = None  # a non-admin reader of restricted incidents: theirs alone

    def slug(self) -> str:
        roles = ",".join(sorted(self.roles)) or "-"
        return f"{roles}:{self.language}:{self.time_zone}:{self.member or '-'}"

    def verifies(self) -> bool:
        return may_verify(reader_for(self))


@dataclass(frozen=True)
class Stamp:
    """What a render reflects: the log's seq and newest hash (a database rebuilt or restored
    to an earlier seq is a different log, never served an old render), and for readers who see
    the record's verification (which writes no event) the newest verification run's id."""

    seq: int
    head: str = ""
    record: int = 0


_renders = 0
_rendered: set[Variant] = set()


def render_count() -> int:
    """Panels rendered by this process since it started (the benchmarks read it)."""
    return _renders


def rendered_here(variant: Variant) -> bool:
    """Whether this process has rendered ``variant``, so holds its kept fragments."""
    return variant in _rendered


def reader_for(variant: Variant) -> Any:
    return stand_in(variant.member or NOBODY, variant.roles)


def readers_of_restricted(user_ids: Iterable[int]) -> set[int]:
    """Which of ``user_ids`` command or are members of some restricted incident: one query,
    one indexed probe per user however many incidents they command or belong to (a walk of
    their incidents cost 60 ms for an engineer of 90,000). Admins read them all and need no
    answer."""
    ids = set(user_ids)
    if not ids:
        return set()
    commands = Incident.objects.filter(restricted=True, commander_id=OuterRef("pk"))
    belongs = Incident.members.through.objects.filter(
        user_id=OuterRef("pk"), incident__restricted=True
    )
    readers = get_user_model().objects.filter(pk__in=ids).filter(Exists(commands) | Exists(belongs))
    return set(readers.values_list("pk", flat=True))


def variant_of(user_id: int, roles: frozenset[str], language: str, time_zone: str) -> Variant:
    variant = Variant(frozenset(roles), language, time_zone)
    if ADMIN not in roles and readers_of_restricted({user_id}):
        return replace(variant, member=user_id)
    return variant


def time_zone_of(user_id: int) -> str:
    """The reader's saved time zone, else the site's (as frontend/middleware.py applies it)."""
    zone = Profile.objects.filter(user_id=user_id).values_list("time_zone", flat=True).first()
    try:
        zoneinfo.ZoneInfo(zone or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return settings.TIME_ZONE
    return zone or settings.TIME_ZONE


def stamp(verifies: bool) -> Stamp:
    seq, head = LogHead.objects.filter(id=1).values_list("seq", "hash").first() or (0, "")
    return _stamp(seq, head, verifies)


def _stamp(seq: int, head: str, verifies: bool) -> Stamp:
    if not verifies:
        return Stamp(seq, head[:16])
    run = VerificationRun.objects.latest_run()
    return Stamp(seq, head[:16], run.pk if run is not None else 0)


@dataclass(frozen=True)
class Readers:
    """Which of ``ids`` command or are members of a restricted incident (``found``), as of the
    log at ``seq`` (whose event's hash begins with ``head``)."""

    ids: frozenset[int]
    found: frozenset[int]
    seq: int
    head: str


def stamp_and_readers(
    verifies: bool, ids: set[int], known: Readers | None
) -> tuple[Stamp, Readers]:
    """The log's stamp and which of ``ids`` read restricted incidents: ``known`` (the answer a
    process's board kept from its push before) checked in the stamp's own query while it covers
    ``ids`` (an ``EXISTS`` probe of its event, and one of the events since that may move who
    reads them, ``Event.objects.that_move_readers``: a restriction, its members, a commander
    edit), else read again. Each push asked it in a query of its own: 2-8 ms of a change's path
    under load (bench/README.md, "Dashboard viewers")."""
    if known is None or not ids or not ids <= known.ids:
        at = stamp(verifies)
        found = frozenset(readers_of_restricted(ids))
        return at, Readers(frozenset(ids), found, at.seq, at.head)
    moves = EventQuerySet.that_move_readers
    row = LogHead.objects.filter(id=1).annotate(since=Value(known.seq)).values(
        "seq",
        "hash",
        same=read_at(known.seq, known.head),
        moved=moved_between(moves, "since", "seq"),
    ).first() or {"seq": 0, "hash": "", "same": False, "moved": True}
    seq, head = row["seq"], row["hash"]
    found = known.found
    if not row["same"] or row["moved"]:
        found = frozenset(readers_of_restricted(known.ids))
    return _stamp(seq, head, verifies), replace(known, found=found, seq=seq, head=head[:16])


def cache_key(variant: Variant, at: Stamp) -> str:
    record = at.record if variant.verifies() else 0
    return f"dashboard-panels:{at.seq}:{at.head}:{record}:{variant.slug()}"


def context(reader: Any, at: Stamp, now: dt.datetime) -> dict[str, Any]:
    """What the panels template shows ``reader`` (in the active language and time zone) as of
    the log at ``at``."""
    log = (at.seq, at.head)
    jalali = is_persian()
    # Everything this render keeps, checked in one query (``frontend.kept.check``).
    entries = {parts_key(reader, now): EventQuerySet.that_move_lists}
    checked = check(log, {**entries, **metrics.kept_entries(now, jalali, reader)})
    mine = kept_parts(reader, log, now, checked)
    data = metrics.dashboard(
        now, jalali=jalali, reader=reader, log=log, parts=mine, checked=checked
    )
    data["overdue_follow_ups"] = {**mine["overdue_follow_ups"], "now": now}  # its countdowns
    campaigns = metrics.campaigns_in_flight(reader, among=mine["campaigns"])
    data["seq"] = at.seq
    rtl = translation.get_language_bidi()
    data["state_chart"] = charts.bars(
        [(row["value"], row["label"], row["count"]) for row in data["all_states"]], rtl=rtl
    )
    data["restore_chart"] = charts.bars(
        [(str(m["month"]), m["month"], round(m["hours"], 1)) for m in data["restore_months"]],
        rtl=rtl,
    )
    # When each row entered its state, so that the browser can count the time in it on; and
    # the keys of the kept fragments (``kept_as``).
    written = (translation.get_language(), timezone.get_current_timezone_name())
    data["figures_key"] = kept_as(*written, *(data[name] for name in FIGURES))
    data["open_rows"] = [
        (row, now - row.in_state, kept_as(*written, *open_row(row, now)))
        for row in data["open_rows"]
    ]
    data["latest_events"] = [
        (event, kept_as(*written, *latest_entry(event))) for event in data["latest_events"]
    ]
    data["campaigns_in_flight"] = progress_rows(campaigns)
    data["may_verify"] = may_verify(reader)
    data["verification"] = VerificationRun.objects.latest_run() if data["may_verify"] else None
    data["csrf_slot"] = CSRF_SLOT
    return data


def parts_key(reader: Any, now: dt.datetime) -> str:
    roles = ",".join(sorted(roles_of(reader)))
    return f"dashboard-parts:{now:%Y%m%d%H%M}:{reader.pk}:{roles}"


def kept_parts(
    reader: Any, log: tuple[int, str], now: dt.datetime, checked: Checked | None = None
) -> dict[str, Any]:
    """The reader's own lists in the panels (``metrics.readers_parts``: their legal deadlines,
    the dead deliveries), their overdue follow-ups and which notice campaigns are in flight,
    kept for the minute (``frontend.kept.kept``: one query instead of five to seven) while no
    event since moves them (``Event.objects.that_move_lists``: a note, a status update, a task
    or a title edit does not); ``checked``: looked up with the render's other kept entries.
    A dead delivery or a follow-up falling overdue, which no event marks, shows in the panels
    of the next minute, as the page's shared render already allows (CACHE_SECONDS); the
    campaigns' progress is read fresh."""
    return kept(
        parts_key(reader, now),
        log,
        lambda: {
            **metrics.readers_parts(reader),
            "overdue_follow_ups": overdue_follow_ups(reader),
            "campaigns": metrics.campaign_ids_in_flight(reader),
        },
        EventQuerySet.that_move_lists,
        checked=checked,
    )


def kept_as(*shown: Any) -> str:
    """The key of a kept fragment of the panels (``{% cache %}`` in the template): what it shows,
    unambiguously (JSON; moments, durations and lazy labels as their text). Each fragment's key
    holds everything the fragment shows, and the language and time zone it is written in: a
    fragment whose key left something out would be served stale."""
    return json.dumps(shown, default=_text, ensure_ascii=False, separators=(",", ":"))


def _text(value: Any) -> Any:
    return vars(value) if dataclasses.is_dataclass(value) else str(value)


def open_row(row: metrics.OpenIncident, now: dt.datetime) -> tuple[Any, ...]:
    """What an open row shows: the incident's fields, its age and time in the state in words
    (whole minutes below a day, so most rows' words move once an hour, not each minute), the
    update line, and the latest update's moment as said ``now``."""
    incident = row.incident
    return (
        incident.pk,
        incident.reference,
        incident.title,
        incident.severity,
        incident.state,
        incident.detected_at,
        now - row.in_state,
        duration(row.age),
        duration(row.in_state),
        row.update_line,
        _said(incident.latest_update_at),
        incident.next_update_at,
        row.update_overdue,
    )


def latest_entry(event: Any) -> tuple[Any, ...]:
    """What a latest timeline entry's kept part shows: the event alone (its seq and hash; an
    event never changes). Its moment's words ("12 seconds ago"), which move each second, and
    its incident's reference and title, which an edit of the title moves, are written outside
    it: a change's render would otherwise write every recent entry again (after a title edit,
    every entry of that incident: the twelve of each of bench/dashboard_viewers.py's changes,
    ~1.5 ms of a ~35 ms render on a slow machine)."""
    return (event.seq, event.hash)


def _said(moment: dt.datetime | None) -> tuple[Any, str] | None:
    """A moment and its words now (``ago``; the rest of what it writes follows from the moment,
    the language and the time zone)."""
    return None if moment is None else (moment, naturaltime(moment))


def render(variant: Variant, at: Stamp, *, counted: bool = True) -> str:
    """The panels' HTML for ``variant``, reflecting at least ``at`` (read before the numbers:
    an event committed in between is in the HTML and pushed again with its own seq).
    ``counted``: a render for viewers (``render_count``), not one that only refreshes what is
    kept (frontend/live.py: ``Board.warm``, ``Board._each_minute``)."""
    global _renders
    _renders += counted
    _rendered.add(variant)
    with translation.override(variant.language):
        with timezone.override(zoneinfo.ZoneInfo(variant.time_zone)):
            data = context(reader_for(variant), at, timezone.now())
            return render_to_string(TEMPLATE, data).strip()


def cached(variant: Variant, at: Stamp) -> str | None:
    return cache.get(cache_key(variant, at))


def cached_or_claim(variant: Variant, at: Stamp, *, fresh: bool = False) -> str | bool:
    """The shared HTML if some process rendered it; else True if this caller now holds the
    render (a lock in the cache, kept as long as the HTML once it is shared), False if another
    process holds it. ``fresh``: the caller comes right after the change (a push), when no
    process has rendered it yet: the claim is tried first, so the process that then renders
    makes one trip to the cache before it starts, not two (each waits for the process's one
    database thread under load: bench/README.md, "Dashboard viewers")."""
    key = cache_key(variant, at)
    if fresh and cache.add(f"{key}:lock", 1, LOCK_SECONDS):
        return True
    html = cache.get(key)
    if html is not None:
        return html
    return False if fresh else cache.add(f"{key}:lock", 1, LOCK_SECONDS)


def render_and_share(variant: Variant, at: Stamp) -> str:
    """Render, then share the HTML and keep the render's lock as long (one trip: a claim
    that finds the lock finds the HTML). A render that failed frees the lock at once: it may
    succeed in another process."""
    key = cache_key(variant, at)
    try:
        html = render(variant, at)
    except BaseException:
        cache.delete(f"{key}:lock")
        raise
    cache.set_many({key: html, f"{key}:lock": 1}, CACHE_SECONDS)
    return html


def shared_now(variant: Variant, at: Stamp) -> str:
    """The variant's HTML as of ``at`` for a request thread: the shared copy, else rendered
    here, or awaited for a bounded time from the process that renders it."""
    found = cached_or_claim(variant, at)
    if isinstance(found, str):
        return found
    if found is False:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            html = cached(variant, at)
            if html is not None:
                return html
    return render_and_share(variant, at)


def for_page(user: Any, roles: frozenset[str], token: str) -> str:
    """The panels for a page request, in its language and time zone: the shared render when
    it exists (a page loaded during a storm is a cache hit), with the request's CSRF token."""
    variant = variant_of(
        user.pk, roles, translation.get_language(), timezone.get_current_timezone_name()
    )
    return with_token(shared_now(variant, stamp(variant.verifies())), token)


def with_token(html: str, token: str) -> str:
    return html.replace(f'value="{CSRF_SLOT}"', f'value="{token}"')
