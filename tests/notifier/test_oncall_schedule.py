"""Who is on call: daily and weekly shifts from the start date at the hand-over time in the
rotation's zone, overrides, the next one on call, and a calendar of shifts."""

from __future__ import annotations

import datetime as dt

import pytest

from notifier.models import Rotation
from notifier.oncall import Schedule, on_call_brief, on_call_now
from tests.conftest import make_user
from tests.notifier.oncall_helpers import TEHRAN, override, rotation

UTC = dt.UTC


@pytest.fixture
def crew(db):
    return [make_user(name, "engineer") for name in ("ali", "bahar", "cyrus")]


def at(*args: int, tz: dt.tzinfo = TEHRAN) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


def schedule_of(rot: Rotation) -> Schedule:
    return Schedule.of(Rotation.objects.with_schedule(at(2000, 1, 1)).get(pk=rot.pk))


def names(users) -> list[str]:
    return [u.username if u is not None else None for u in users]


def test_weekly_shifts_hand_over_at_the_handover_time_in_the_rotations_zone(crew):
    schedule = schedule_of(rotation("infra", crew))  # from Saturday 2026-01-03 09:00 Tehran
    moments = [
        at(2026, 1, 3, 8, 59),  # before the first shift: nobody by the order
        at(2026, 1, 3, 9, 0),
        at(2026, 1, 10, 8, 59),
        at(2026, 1, 10, 9, 0),
        at(2026, 1, 17, 9, 0),
        at(2026, 1, 24, 9, 0),  # round again
    ]
    assert names(schedule.on_call(m) for m in moments) == [
        None,
        "ali",
        "ali",
        "bahar",
        "cyrus",
        "ali",
    ]
    # 09:00 in Tehran is 05:30 UTC all year: Iran keeps no daylight saving time.
    assert schedule.start_of(26) == dt.datetime(2026, 7, 4, 5, 30, tzinfo=UTC)


def test_daily_shifts_change_every_day_at_the_handover(crew):
    rot = rotation("db", crew, shift=Rotation.DAILY, handover=dt.time(18, 30))
    schedule = schedule_of(rot)
    moments = [at(2026, 1, 3, 18, 30), at(2026, 1, 4, 18, 29), at(2026, 1, 4, 18, 30)]
    moments.append(at(2026, 1, 6, 12, 0))
    assert names(schedule.on_call(m) for m in moments) == ["ali", "ali", "bahar", "cyrus"]


def test_a_shift_over_a_daylight_saving_change_keeps_the_wall_clock_handover(crew):
    """Berlin moves its clocks on 2026-03-29: that day's shift is 23 hours long, and the
    hand-over is 09:00 local on both sides of the change."""
    rot = rotation(
        "eu", crew, shift=Rotation.DAILY, starts_on=dt.date(2026, 3, 27), zone="Europe/Berlin"
    )
    schedule = schedule_of(rot)
    shift = schedule.shift_at(dt.datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    assert shift.starts_at == dt.datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert shift.ends_at == dt.datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert shift.scheduled.username == "bahar"
    assert schedule.on_call(dt.datetime(2026, 3, 29, 6, 59, tzinfo=UTC)).username == "bahar"
    assert schedule.on_call(dt.datetime(2026, 3, 29, 7, 0, tzinfo=UTC)).username == "cyrus"


def test_an_override_wins_over_the_order_and_the_latest_created_wins(crew):
    ali, bahar, cyrus = crew
    rot = rotation("infra", crew)
    override(rot, bahar, at(2026, 1, 4, 0, 0), at(2026, 1, 5, 0, 0), created_at=at(2026, 1, 1))
    override(rot, cyrus, at(2026, 1, 4, 12, 0), at(2026, 1, 4, 14, 0), created_at=at(2026, 1, 2))
    schedule = schedule_of(rot)
    assert schedule.on_call(at(2026, 1, 3, 23, 59)).username == "ali"
    assert schedule.on_call(at(2026, 1, 4, 0, 0)).username == "bahar"
    assert schedule.on_call(at(2026, 1, 4, 13, 0)).username == "cyrus"
    assert schedule.on_call(at(2026, 1, 4, 14, 0)).username == "bahar"
    assert schedule.on_call(at(2026, 1, 5, 0, 0)).username == "ali"  # the end is not covered
    # An older override created after a newer one: the later creation wins where they overlap.
    override(rot, ali, at(2026, 1, 4, 12, 0), at(2026, 1, 4, 13, 0), created_at=at(2026, 1, 3))
    assert schedule_of(rot).on_call(at(2026, 1, 4, 12, 30)).username == "ali"


def test_next_on_call_is_the_next_person_in_the_order_with_their_start(crew):
    ali, bahar, cyrus = crew
    rot = rotation("infra", crew)
    upcoming = schedule_of(rot).next_on_call(at(2026, 1, 5, 12, 0))
    assert (upcoming[0].username, upcoming[1]) == ("bahar", at(2026, 1, 10, 9, 0))
    # Ali takes Bahar's week too: the next one to relieve him is Cyrus.
    override(rot, ali, at(2026, 1, 10, 9, 0), at(2026, 1, 17, 9, 0))
    upcoming = schedule_of(rot).next_on_call(at(2026, 1, 5, 12, 0))
    assert (upcoming[0].username, upcoming[1]) == ("cyrus", at(2026, 1, 17, 9, 0))
    # Before the rotation starts, the first member is next, from the first hand-over.
    upcoming = schedule_of(rot).next_on_call(at(2025, 12, 30, 12, 0))
    assert (upcoming[0].username, upcoming[1]) == ("ali", at(2026, 1, 3, 9, 0))


def test_a_one_person_rotation_has_nobody_next(crew):
    assert schedule_of(rotation("solo", crew[:1])).next_on_call(at(2026, 2, 1)) is None


def test_the_calendar_lists_every_shift_of_a_range_with_who_holds_each_part(crew):
    ali, bahar, cyrus = crew
    rot = rotation("infra", crew)
    override(rot, cyrus, at(2026, 1, 12, 0, 0), at(2026, 1, 13, 0, 0))
    shifts = schedule_of(rot).shifts(at(2026, 1, 5, 0, 0), at(2026, 2, 2, 0, 0))
    assert [s.starts_at for s in shifts] == [at(2026, 1, d, 9, 0) for d in (3, 10, 17, 24, 31)]
    assert names(s.scheduled for s in shifts) == ["ali", "bahar", "cyrus", "ali", "bahar"]
    overridden = shifts[1]
    assert overridden.overridden and not shifts[0].overridden
    assert [(s.user.username, s.starts_at, s.ends_at) for s in overridden.stretches] == [
        ("bahar", at(2026, 1, 10, 9, 0), at(2026, 1, 12, 0, 0)),
        ("cyrus", at(2026, 1, 12, 0, 0), at(2026, 1, 13, 0, 0)),
        ("bahar", at(2026, 1, 13, 0, 0), at(2026, 1, 17, 9, 0)),
    ]
    assert names(overridden.holders) == ["bahar", "cyrus"]


def test_a_calendar_before_the_start_begins_with_the_first_shift(crew):
    rot = rotation("infra", crew, shift=Rotation.DAILY)
    shifts = schedule_of(rot).shifts(at(2025, 12, 1), at(2026, 1, 5, 0, 0))
    assert [s.index for s in shifts] == [0, 1]


def test_who_is_on_call_now_across_active_rotations(crew, django_assert_num_queries):
    ali, bahar, cyrus = crew
    rotation("infra", crew)
    db = rotation("db", [cyrus, ali], shift=Rotation.DAILY)
    rotation("old", [bahar], active=False)
    override(db, bahar, at(2026, 1, 5, 0, 0), at(2026, 1, 6, 0, 0))
    now = at(2026, 1, 5, 12, 0)
    with django_assert_num_queries(3):
        board = on_call_now(now)
    assert [(o.rotation.name, o.user.username, o.next_user.username) for o in board] == [
        ("db", "bahar", "cyrus"),  # Cyrus again when the override ends
        ("infra", "ali", "bahar"),
    ]
    assert board[0].until == at(2026, 1, 6, 0, 0)  # the override's end comes first
    assert board[0].next_from == at(2026, 1, 6, 0, 0)
    assert board[1].until == at(2026, 1, 10, 9, 0)
    with django_assert_num_queries(1):
        brief = on_call_brief(now)
    assert [(b.rotation, b.username) for b in brief] == [("db", "bahar"), ("infra", "ali")]


def test_a_deactivated_member_or_stand_in_is_never_on_call(crew):
    ali, bahar, cyrus = crew
    rot = rotation("infra", crew)
    override(rot, cyrus, at(2026, 1, 4, 0, 0), at(2026, 1, 5, 0, 0))
    cyrus.is_active = False
    cyrus.save()
    schedule = schedule_of(rot)
    assert schedule.on_call(at(2026, 1, 4, 12, 0)).username == "ali"
    assert names(schedule.members) == ["ali", "bahar"]
    assert [b.username for b in on_call_brief(at(2026, 1, 4, 12, 0))] == ["ali"]
