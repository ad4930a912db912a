"""When a moment a person records may lie (detected, aware, a referral submitted or answered).

Every such moment is part of the legal record and feeds deadlines, Jalali dates and the dossier,
none of which can represent year 1 or 9999; and a breach is never detected tomorrow. So a moment
must fall between EARLIEST and a day from now (a day, for clocks that run ahead).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone

from incidents.errors import InvalidChange

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
CLOCK_AHEAD = dt.timedelta(days=1)


def check_detection(
    detected_at: dt.datetime,
    aware_at: dt.datetime,
    *,
    given: Iterable[str] = ("detected_at", "aware_at"),
) -> None:
    """An incident's two moments: each one a person gave (``given``) plausible, and awareness
    never before detection (the legal clock cannot start before the breach was found)."""
    check_moments(
        **{k: v for k, v in (("detected_at", detected_at), ("aware_at", aware_at)) if k in given}
    )
    if aware_at < detected_at:
        raise InvalidChange({"aware_at": ["May not be before detected_at."]})


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
