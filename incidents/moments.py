"""When a moment a person records may lie (detected, aware, a referral submitted or answered).

Every such moment is part of the legal record and feeds deadlines, Jalali dates and the dossier,
none of which can represent year 1 or 9999; and a breach is never detected tomorrow. So a moment
must fall between EARLIEST and a day from now (a day, for clocks that run ahead).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from incidents.errors import InvalidChange

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
CLOCK_AHEAD = dt.timedelta(days=1)


def check_moments(**moments: dt.datetime | None) -> None:
    """InvalidChange naming every given moment outside [EARLIEST, now + a day]."""
    latest = timezone.now() + CLOCK_AHEAD
    errors = {}
    for name, moment in moments.items():
        if moment is None:
            continue
        if moment < EARLIEST:
            errors[name] = [f"May not be before {EARLIEST:%Y-%m-%d}."]
        elif moment > latest:
            errors[name] = ["May not be in the future."]
    if errors:
        raise InvalidChange(errors)
