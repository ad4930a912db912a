"""One formatter for every output: Jalali and Persian digits in Persian, Gregorian and ASCII
digits in English, in the reader's zone, and never an exception for an extreme date."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zoneinfo
from pathlib import Path

import pytest
from django.utils import timezone, translation

from core.formats import ascii_digits, digits, is_persian, moment

ROOT = Path(__file__).resolve().parents[2]
NOV_24 = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC)  # 21:30 in Tehran, 3 Azar 1405


@pytest.mark.parametrize(
    ("fmt", "shown"),
    [("datetime", "۱۴۰۵/۰۹/۰۳ ۲۱:۳۰"), ("date", "۱۴۰۵/۰۹/۰۳"), ("month", "۱۴۰۵/۰۹")],
)
def test_persian_reads_jalali_with_persian_digits(fmt, shown):
    assert moment(NOV_24, language="fa", zone="Asia/Tehran", fmt=fmt) == shown


@pytest.mark.parametrize(
    ("fmt", "shown"),
    [("datetime", "2026-11-24 21:30"), ("date", "2026-11-24"), ("month", "2026-11")],
)
def test_english_reads_gregorian_with_ascii_digits(fmt, shown):
    assert moment(NOV_24, language="en", zone="Asia/Tehran", fmt=fmt) == shown


def test_a_plain_date_is_a_day_in_either_calendar():
    assert moment(dt.date(2026, 3, 1), language="fa", fmt="month") == "۱۴۰۴/۱۲"
    assert moment(dt.date(2026, 3, 1), language="en", fmt="date") == "2026-03-01"


def test_the_active_language_and_zone_are_the_defaults():
    with translation.override("fa"), timezone.override(zoneinfo.ZoneInfo("Asia/Tehran")):
        assert is_persian()
        assert moment(NOV_24) == "۱۴۰۵/۰۹/۰۳ ۲۱:۳۰"
        assert digits(2026) == "۲۰۲۶"
        assert digits(2026, language="en") == "2026"
    with translation.override("en"), timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        assert not is_persian()
        assert moment(NOV_24) == "2026-11-24 13:00"
        assert moment(NOV_24, language="fa") == "۱۴۰۵/۰۹/۰۳ ۱۳:۰۰"
        assert digits(2026) == "2026"


def test_no_moment_is_a_dash():
    assert moment(None, language="fa") == moment(None, language="en") == "—"


def test_typed_persian_and_arabic_digits_read_as_ascii():
    assert ascii_digits("INC-۲۰۲۶-٠٠٠٧") == "INC-2026-0007"
    assert ascii_digits(digits("1405/09/03 21:30", language="fa")) == "1405/09/03 21:30"


def test_documents_read_both_calendars_in_tehran_time():
    both = moment(NOV_24, zone=zoneinfo.ZoneInfo("Asia/Tehran"), fmt="both")
    assert both == "1405/09/03 21:30 — 2026-11-24 21:30 (Tehran)"
    with translation.override("fa"):  # a document's digits do not follow the page
        assert moment(NOV_24, zone="Asia/Tehran", fmt="both") == both
    assert moment(None, fmt="both") == "—"


@pytest.mark.parametrize(
    ("value", "language", "zone", "shown"),
    [
        # before the Jalali calendar: Gregorian, still in the reader's digits
        (dt.datetime(1, 1, 2, tzinfo=dt.UTC), "fa", "Asia/Tehran", "۰۰۰۱-۰۱-۰۲ ۰۳:۲۵"),
        (dt.datetime(1, 1, 2, tzinfo=dt.UTC), "en", "Asia/Tehran", "0001-01-02 03:25"),
        # a shift the zone cannot make: UTC, and it says so
        (dt.datetime(1, 1, 1, tzinfo=dt.UTC), "fa", "America/New_York", "۰۰۰۱-۰۱-۰۱ ۰۰:۰۰ UTC"),
        (dt.datetime(9999, 12, 31, 23, tzinfo=dt.UTC), "fa", "Asia/Tehran", "۹۹۹۹-۱۲-۳۱ ۲۳:۰۰ UTC"),
        (dt.datetime(9999, 12, 31, 23, tzinfo=dt.UTC), "en", "Asia/Tehran", "9999-12-31 23:00 UTC"),
        (dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), "fa", "Asia/Tehran", "۱۴۰۴/۱۲/۱۰ ۱۵:۳۰"),
        (dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), "en", "Asia/Tehran", "2026-03-01 15:30"),
    ],
)
def test_extreme_dates_fall_back_to_gregorian_or_utc(value, language, zone, shown):
    assert moment(value, language=language, zone=zone) == shown


@pytest.mark.parametrize("zone", ["Asia/Tehran", "America/New_York", "Pacific/Kiritimati", "UTC"])
@pytest.mark.parametrize(
    "value",
    [
        dt.datetime.min.replace(tzinfo=dt.UTC),
        dt.datetime.max.replace(tzinfo=dt.UTC),
        dt.datetime.min,
        dt.datetime.max,
        dt.date.min,
        dt.date.max,
    ],
)
def test_no_representable_date_raises(value, zone):
    for language in ("fa", "en"):
        for fmt in ("datetime", "date", "month", "both"):
            assert moment(value, language=language, zone=zone, fmt=fmt)


def test_core_formats_imports_no_app():
    """core knows no domain (STYLE.md): importing the formatter loads none of the apps."""
    apps = "incidents", "notifier", "frontend"
    script = (
        "import sys, core.formats; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {apps!r}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
