"""The dashboard's medians are taken in the database over every row of their window (issue 21):
the same numbers as ``statistics.median`` over all rows, in a constant number of queries."""

from __future__ import annotations

import datetime as dt
import statistics

import pytest
from django.utils import timezone

from frontend import metrics
from incidents.models import Incident

# SQLite reads a time to the millisecond (julianday): the medians agree to that.
EXACT = dt.timedelta(milliseconds=1)


def restored_after(incident_in, hours: float, restored_at: dt.datetime) -> Incident:
    """A restored incident whose restoration came ``hours`` after its detection."""
    incident = incident_in("restored", detected_at=restored_at - dt.timedelta(hours=hours))
    # mark_restored stamps now; the test needs restorations at given moments.
    Incident.objects.filter(pk=incident.pk).update(restored_at=restored_at)
    return incident


def python_median(field: str, since: dt.datetime) -> dt.timedelta:
    """What the old code computed, over every row instead of an arbitrary 5,000."""
    pairs = Incident.objects.filter(**{f"{field}__gte": since}).values_list(field, "detected_at")
    return dt.timedelta(seconds=statistics.median((e - s).total_seconds() for e, s in pairs))


@pytest.mark.parametrize("count", [5, 6])
def test_restore_median_is_the_median_of_every_row_odd_and_even(users, incident_in, count):
    now = timezone.now()
    # Inserted out of order, with odd minutes and microseconds: the middle is found by sorting
    # the spans, and an even count averages the two middle ones.
    hours = [30.5, 2.25, 71.0, 4.0, 9.75, 1.1][:count]
    for i, span in enumerate(hours):
        moment = now - dt.timedelta(days=i + 1, microseconds=123457 * (i + 1))
        restored_after(incident_in, span, moment)
    found = metrics.medians(now)["restore"]
    assert abs(found - python_median("restored_at", now - dt.timedelta(days=90))) <= EXACT
    assert abs(found - dt.timedelta(hours=statistics.median(hours))) <= EXACT


def test_medians_leave_out_what_happened_before_the_window(users, incident_in):
    now = timezone.now()
    restored_after(incident_in, 2, now - dt.timedelta(days=3))
    restored_after(incident_in, 1000, now - dt.timedelta(days=metrics.WINDOW_DAYS + 1))
    result = metrics.medians(now)
    assert abs(result["restore"] - dt.timedelta(hours=2)) <= EXACT
    assert result["refer"] is None


def test_restore_months_take_each_months_median_and_count(users, incident_in):
    tehran = timezone.get_current_timezone()
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=tehran)
    # Two in November (an even count: the mean of the two), three in September, none between.
    for day, hours in ((3, 10.0), (20, 4.0)):
        restored_after(incident_in, hours, dt.datetime(2026, 11, day, 9, 0, tzinfo=tehran))
    for day, hours in ((2, 1.0), (15, 50.0), (28, 6.5)):
        restored_after(incident_in, hours, dt.datetime(2026, 9, day, 9, 0, tzinfo=tehran))
    bars = {bar["month"]: bar for bar in metrics.restore_months(now)}
    assert bars[dt.date(2026, 11, 1)]["n"] == 2
    assert abs(bars[dt.date(2026, 11, 1)]["hours"] - 7.0) < 0.001
    assert bars[dt.date(2026, 9, 1)]["n"] == 3
    assert abs(bars[dt.date(2026, 9, 1)]["hours"] - 6.5) < 0.001
    assert (bars[dt.date(2026, 10, 1)]["n"], bars[dt.date(2026, 10, 1)]["hours"]) == (0, 0.0)


def test_a_month_runs_from_local_midnight_of_its_first_day(users, incident_in):
    tehran = timezone.get_current_timezone()
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=tehran)
    november = dt.datetime(2026, 11, 1, tzinfo=tehran)
    restored_after(incident_in, 3, november)  # the first moment of November, Tehran time
    restored_after(incident_in, 5, november - dt.timedelta(microseconds=1))  # October's last
    bars = {bar["month"]: bar["n"] for bar in metrics.restore_months(now)}
    assert bars[dt.date(2026, 11, 1)] == 1 and bars[dt.date(2026, 10, 1)] == 1


@pytest.mark.parametrize("count", [2, 12])
def test_medians_cost_the_same_queries_however_many_rows(
    users, incident_in, count, django_assert_max_num_queries
):
    now = timezone.now()
    for i in range(count):
        restored_after(incident_in, 1 + i, now - dt.timedelta(days=i % 150 + 1))
    # One on PostgreSQL (percentile_cont); elsewhere the counts and one per median.
    with django_assert_max_num_queries(1 + len(metrics.MEDIANS)):
        metrics.medians(now)
    for jalali in (False, True):
        with django_assert_max_num_queries(1 + 6):
            metrics.restore_months(now, jalali=jalali)
