"""When a moment a person records may lie (detected, aware, a referral submitted or answered).

Every such moment is part of the legal record and feeds deadlines, Jalali dates and the dossier,
none of which can represent year 1 or 9999; and a breach is never detected tomorrow. So a moment
must fall between EARLIEST and a day from now (a day, for clocks that run ahead). And a moment
comes after the ones it follows: awareness after detection, a referral after the detection of
its breach, its answer after its submission.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.errors import InvalidChange, MomentOutOfOrder

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
CLOCK_AHEAD = dt.timedelta(days=1)


def check_detection(
    detected_at: dt.datetime,
    aware_at: dt.datetime,
    *,
    given: Iterable[str] = ("detected_at", "aware_at"),
    first_submitted: dt.datetime | None = None,
) -> None:
    """An incident's two moments: each one a person gave (``given``) plausible, awareness never
    before detection (the legal clock cannot start before the breach was found), and detection
    never after its first referral was submitted (``first_submitted``, when there is one)."""
    check_moments(
        **{k: v for k, v in (("detected_at", detected_at), ("aware_at", aware_at)) if k in given}
    )
    check_not_before("aware_at", aware_at, {"detected_at": detected_at})
    if first_submitted is not None and detected_at > first_submitted:
        raise _out_of_order(
            "detected_at",
            _("May not be after %(field)s (%(moment)s)."),
            "submitted_at",
            first_submitted,
        )


def check_not_before(
    name: str, moment: dt.datetime | None, earlier: dict[str, dt.datetime | None]
) -> None:
    """InvalidChange on ``name`` if ``moment`` lies before any of the ``earlier`` moments it
    must follow, given by field name (a None bound: not recorded, nothing to follow)."""
    if moment is None:
        return
    for field, bound in earlier.items():
        if bound is not None and moment < bound:
            raise _out_of_order(name, _("May not be before %(field)s (%(moment)s)."), field, bound)


def _out_of_order(name: str, message: str, field: str, bound: dt.datetime) -> InvalidChange:
    """The error names the bound and its value: the caller may not have it in front of them."""
    return MomentOutOfOrder(name, message, field, bound)


def check_moments(**moments: dt.datetime | None) -> None:
    """InvalidChange naming every given moment outside [EARLIEST, now + a day]."""
    latest = timezone.now() + CLOCK_AHEAD
    errors = {}
    for name, moment in moments.items():
        if moment is None:
            continue
        if moment < EARLIEST:
            errors[name] = [_("May not be before %(day)s.") % {"day": f"{EARLIEST:%Y-%m-%d}"}]
        elif moment > latest:
            errors[name] = [_("May not be in the future.")]
    if errors:
        raise InvalidChange(errors)
