"""Who is on call: a rotation's schedule read from its order, its shift length, its hand-over
time in its own zone, and its overrides (docs/oncall.md). Pure reads; notifier/shifts.py writes.

Shift ``k`` of a rotation starts at ``handover_time`` on ``starts_on + k`` days (daily) or weeks
(weekly), as a wall clock in the rotation's ``time_zone`` reads it, and ends where shift ``k+1``
starts: a shift over a daylight-saving change is an hour shorter or longer, and a zone without
one (Asia/Tehran since 2022) needs nothing special. Member ``k mod n`` (in ``position`` order)
holds it. An override in force wins over the order; of several, the latest created.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from notifier.models import Rotation, RotationMember, RotationOverride

# Where a calendar or a schedule walk stops, whatever it is asked: a year of shifts.
MAX_SHIFTS = 400


@dataclass(frozen=True)
class Stretch:
    """Part of a shift held by one person: the scheduled member, or an override's user."""

    starts_at: dt.datetime
    ends_at: dt.datetime
    user: Any
    override: RotationOverride | None


@dataclass(frozen=True)
class Shift:
    """One scheduled shift, with who holds each part of it (``stretches``, in time order)."""

    rotation: Rotation
    index: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    scheduled: Any
    stretches: tuple[Stretch, ...]

    @property
    def user(self) -> Any:
        """Who holds the shift as it starts."""
        return self.stretches[0].user if self.stretches else self.scheduled

    @property
    def holders(self) -> list[Any]:
        seen: dict[int, Any] = {}
        for stretch in self.stretches:
            if stretch.user is not None:
                seen.setdefault(stretch.user.pk, stretch.user)
        return list(seen.values())

    @property
    def overridden(self) -> bool:
        return any(stretch.override is not None for stretch in self.stretches)

    def remaining(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """The part of the shift not yet over at ``now`` (all of it when it is in the future)."""
        return max(self.starts_at, now), self.ends_at


class Schedule:
    """One rotation's schedule, from the rotation with its members and overrides (read once,
    ``Rotation.objects.with_schedule``); every question after that is arithmetic."""

    def __init__(
        self, rotation: Rotation, members: Iterable[Any], overrides: Iterable[RotationOverride]
    ) -> None:
        self.rotation = rotation
        self.members = [user for user in members if user.is_active]
        # A stand-in whose account was deactivated answers nothing: the order applies again.
        self.overrides = [o for o in overrides if o.user.is_active]
        self.zone = zoneinfo.ZoneInfo(rotation.time_zone)
        self.days = 7 if rotation.shift == Rotation.WEEKLY else 1

    @classmethod
    def of(cls, rotation: Rotation) -> Schedule:
        """From a rotation read with ``with_schedule`` (else its members and overrides are read
        now: two queries)."""
        members = [member.user for member in rotation.members.all()]
        return cls(rotation, members, rotation.overrides.all())

    def start_of(self, index: int) -> dt.datetime:
        day = self.rotation.starts_on + dt.timedelta(days=index * self.days)
        local = dt.datetime.combine(day, self.rotation.handover_time, tzinfo=self.zone)
        return local.astimezone(dt.UTC)

    def index_at(self, moment: dt.datetime) -> int:
        """The number of the shift running at ``moment`` (negative before ``starts_on``)."""
        first = dt.datetime.combine(self.rotation.starts_on, self.rotation.handover_time)
        local = moment.astimezone(self.zone).replace(tzinfo=None)
        index = math.floor((local - first) / dt.timedelta(days=self.days))
        # The wall-clock estimate can be one off across a daylight-saving change.
        while self.start_of(index + 1) <= moment:
            index += 1
        while self.start_of(index) > moment:
            index -= 1
        return index

    def scheduled(self, index: int) -> Any:
        """The member the order names for shift ``index``; nobody before the first shift."""
        if index < 0 or not self.members:
            return None
        return self.members[index % len(self.members)]

    def override_at(self, moment: dt.datetime) -> RotationOverride | None:
        covering = [o for o in self.overrides if o.starts_at <= moment < o.ends_at]
        return max(covering, key=lambda o: (o.created_at, o.pk or 0), default=None)

    def on_call(self, moment: dt.datetime) -> Any:
        override = self.override_at(moment)
        if override is not None:
            return override.user
        return self.scheduled(self.index_at(moment))

    def shift(self, index: int) -> Shift:
        starts_at, ends_at = self.start_of(index), self.start_of(index + 1)
        scheduled = self.scheduled(index)
        return Shift(
            self.rotation,
            index,
            starts_at,
            ends_at,
            scheduled,
            self._stretches(starts_at, ends_at, scheduled),
        )

    def shift_at(self, moment: dt.datetime) -> Shift:
        return self.shift(self.index_at(moment))

    def shift_starting(self, starts_at: dt.datetime) -> Shift | None:
        """The shift that starts at exactly ``starts_at``, if one does."""
        index = self.index_at(starts_at)
        return self.shift(index) if self.start_of(index) == starts_at else None

    def shifts(self, start: dt.datetime, end: dt.datetime) -> list[Shift]:
        """Every shift that overlaps ``[start, end)``, in order (a calendar)."""
        first = self.index_at(start)
        last = min(self.index_at(end - dt.timedelta(microseconds=1)), first + MAX_SHIFTS)
        return [self.shift(index) for index in range(max(first, 0), last + 1)]

    def next_on_call(self, moment: dt.datetime) -> tuple[Any, dt.datetime] | None:
        """The first person other than whoever is on call at ``moment`` to be on call after
        it, and from when (a hand-over or an override's edge): the rotation's "next" (an
        escalation's second line). Looks two rounds of the order ahead."""
        now = self.on_call(moment)
        index = self.index_at(moment)
        horizon = self.start_of(index + 1 + max(len(self.members), 1) * 2)
        changes = {
            self.start_of(k) for k in range(max(index + 1, 0), index + 2 * len(self.members) + 2)
        }
        for override in self.overrides:
            changes |= {override.starts_at, override.ends_at}
        for change in sorted(c for c in changes if moment < c <= horizon):
            user = self.on_call(change)
            if user is not None and not _same(user, now):
                return user, change
        return None

    def _stretches(
        self, starts_at: dt.datetime, ends_at: dt.datetime, scheduled: Any
    ) -> tuple[Stretch, ...]:
        cuts = {starts_at, ends_at}
        for override in self.overrides:
            for moment in (override.starts_at, override.ends_at):
                if starts_at < moment < ends_at:
                    cuts.add(moment)
        bounds = sorted(cuts)
        stretches: list[Stretch] = []
        for begin, finish in zip(bounds, bounds[1:], strict=False):
            override = self.override_at(begin)
            user = override.user if override is not None else scheduled
            last = stretches[-1] if stretches else None
            if last is not None and last.override is override and _same(last.user, user):
                stretches[-1] = Stretch(last.starts_at, finish, user, override)
            else:
                stretches.append(Stretch(begin, finish, user, override))
        return tuple(stretches)


def _same(a: Any, b: Any) -> bool:
    return (a.pk if a is not None else None) == (b.pk if b is not None else None)


@dataclass(frozen=True)
class OnCall:
    """A rotation's on-call person now, until when, and who is next from when."""

    rotation: Rotation
    user: Any
    until: dt.datetime | None
    next_user: Any
    next_from: dt.datetime | None


def on_call_in(schedule: Schedule, now: dt.datetime) -> OnCall:
    override = schedule.override_at(now)
    shift_end = schedule.start_of(schedule.index_at(now) + 1)
    until = min(override.ends_at, shift_end) if override is not None else shift_end
    upcoming = schedule.next_on_call(now)
    return OnCall(
        schedule.rotation,
        schedule.on_call(now),
        until,
        upcoming[0] if upcoming else None,
        upcoming[1] if upcoming else None,
    )


def schedules(now: dt.datetime | None = None) -> list[Schedule]:
    """Every active rotation's schedule, by name (three queries)."""
    now = now or timezone.now()
    rotations = Rotation.objects.active().with_schedule(now).order_by("name", "id")
    return [Schedule.of(rotation) for rotation in rotations]


def on_call_now(now: dt.datetime | None = None) -> list[OnCall]:
    """Who is on call in every active rotation now, and who is next."""
    now = now or timezone.now()
    return [on_call_in(schedule, now) for schedule in schedules(now)]


@dataclass(frozen=True)
class OnCallBrief:
    """The dashboard's line for one rotation: names only."""

    rotation: str
    username: str


def on_call_brief(now: dt.datetime | None = None) -> list[OnCallBrief]:
    """Who is on call now in every active rotation, for the dashboard: one query whatever the
    number of rotations, members and overrides (the winning override's user is a subquery)."""
    now = now or timezone.now()
    winner = RotationOverride.objects.covering(now).filter(
        rotation=OuterRef("rotation"), user__is_active=True
    )
    rows = (
        RotationMember.objects.filter(rotation__active=True, user__is_active=True)
        .select_related("rotation", "user")
        .annotate(standing_in=Subquery(winner.values("user__username")[:1]))
        .order_by("rotation__name", "rotation_id", "position")
    )
    by_rotation: dict[int, list[RotationMember]] = {}
    for row in rows:
        by_rotation.setdefault(row.rotation_id, []).append(row)
    briefs = []
    for members in by_rotation.values():
        rotation = members[0].rotation
        if members[0].standing_in:
            briefs.append(OnCallBrief(rotation.name, members[0].standing_in))
            continue
        schedule = Schedule(rotation, [m.user for m in members], [])
        user = schedule.scheduled(schedule.index_at(now))
        if user is not None:
            briefs.append(OnCallBrief(rotation.name, user.get_username()))
    return briefs
