"""The person's settings form (frontend/views/profile.py): language, and the time zone from
a picker grouped by region, each place with today's offset."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.formats import digits
from frontend.forms import Form

# The regions of the IANA zone names, in the order the picker groups them.
REGIONS = {
    "Asia": _("Asia"),
    "Europe": _("Europe"),
    "Africa": _("Africa"),
    "America": _("America"),
    "Australia": _("Australia"),
    "Pacific": _("Pacific Ocean"),
    "Indian": _("Indian Ocean"),
    "Atlantic": _("Atlantic Ocean"),
    "Antarctica": _("Antarctica"),
    "Arctic": _("Arctic"),
}


def _offset(zone: str, now: dt.datetime) -> str:
    minutes = int((zoneinfo.ZoneInfo(zone).utcoffset(now) or dt.timedelta()).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    return digits(f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")


def time_zone_choices() -> list[tuple[Any, Any]]:
    """Every named zone, grouped by region (an <optgroup> each, "Other" for the old aliases
    such as US/Eastern) and labelled with its place and today's offset: "Tehran (UTC+03:30)"."""
    now = timezone.now()
    groups: dict[str, list[tuple[str, str]]] = {region: [] for region in [*REGIONS, "Other"]}
    for name in sorted(zoneinfo.available_timezones()):
        region, _slash, place = name.partition("/")
        if place:
            group = groups[region if region in REGIONS else "Other"]
            group.append((name, f"{place.replace('_', ' ')} ({_offset(name, now)})"))
    titles = {**REGIONS, "Other": _("Other")}
    return [("UTC", "UTC"), *((titles[r], zones) for r, zones in groups.items() if zones)]


class ProfileForm(Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    # Left to right: the places are Latin names, with an offset a Persian page would reorder.
    time_zone = forms.ChoiceField(
        label=_("Time zone"), choices=time_zone_choices, widget=forms.Select(attrs={"dir": "ltr"})
    )
