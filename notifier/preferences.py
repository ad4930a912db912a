"""What each person wants on each channel (issue 22): the defaults and the decision.

No ``AlertPreference`` row means the channel's default: a linked chat (Telegram, Bale) gets every
alert routed to the person, as Telegram always did; email gets critical incidents and
escalations, and nothing at all with ``EMAIL_ALERTS`` off. A row overrides per channel: on or
off, a severity threshold for every alert about an incident, only the person's own incidents,
and quiet hours in their time zone (critical alerts and escalations break through).

Pure decisions over values read once per batch (``notifier.recipients``); no queries here
besides ``preferences_of``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from incidents.choices import SEVERITY_RANK, Severity
from notifier.models import BOT_CHANNELS, EMAIL, AlertPreference

PERSON_CHANNELS = (*BOT_CHANNELS, EMAIL)


@dataclass(frozen=True)
class Preference:
    """One person's effective choice on one channel; ``stored`` says whether a row made it."""

    channel: str
    enabled: bool
    min_severity: str
    own_incidents_only: bool = False
    quiet_from: dt.time | None = None
    quiet_to: dt.time | None = None
    stored: bool = False

    @property
    def has_quiet_hours(self) -> bool:
        return (
            self.quiet_from is not None
            and self.quiet_to is not None
            and self.quiet_from != self.quiet_to
        )


def default_preference(channel: str) -> Preference:
    if channel == EMAIL:
        return Preference(EMAIL, enabled=settings.EMAIL_ALERTS, min_severity=Severity.CRITICAL)
    return Preference(channel, enabled=True, min_severity=Severity.LOW)


def from_row(row: AlertPreference) -> Preference:
    return Preference(
        row.channel,
        # EMAIL_ALERTS off is the operator's word: no alert email, whatever a person chose.
        enabled=row.enabled and (row.channel != EMAIL or settings.EMAIL_ALERTS),
        min_severity=row.min_severity,
        own_incidents_only=row.own_incidents_only,
        quiet_from=row.quiet_from,
        quiet_to=row.quiet_to,
        stored=True,
    )


class Preferences:
    """Every stored preference of a set of people, read in one query."""

    def __init__(self, rows: Iterable[AlertPreference]) -> None:
        self._rows = {(row.user_id, row.channel): from_row(row) for row in rows}

    def of(self, user_id: int, channel: str) -> Preference:
        return self._rows.get((user_id, channel)) or default_preference(channel)


def preferences_of(user_ids: Iterable[int]) -> Preferences:
    return Preferences(AlertPreference.objects.filter(user_id__in=list(user_ids)))


@dataclass(frozen=True)
class Alert:
    """What the decision needs to know about one alert to one person."""

    severity: str
    own: bool  # the person commands or follows the incident, has a task on it, or is named
    urgent: bool  # an escalation, or a critical incident: breaks through quiet hours
    escalation: bool = False


def allows(pref: Preference, alert: Alert, *, now: dt.datetime, time_zone: str) -> bool:
    """Whether an alert about an incident goes out on this channel now."""
    if not pref.enabled:
        return False
    if pref.own_incidents_only and not alert.own:
        return False
    # An escalation is someone asking for this person by name: it is never below a threshold.
    if not alert.escalation and SEVERITY_RANK[alert.severity] < SEVERITY_RANK[pref.min_severity]:
        return False
    return alert.urgent or quiet_until(pref, now=now, time_zone=time_zone) is None


def quiet_until(pref: Preference, *, now: dt.datetime, time_zone: str) -> dt.datetime | None:
    """When the quiet hours ``now`` falls in end (an aware datetime), or None when it falls in
    none. The range is read in the person's zone and may cross midnight (22:00-07:00)."""
    if not pref.has_quiet_hours:
        return None
    assert pref.quiet_from is not None and pref.quiet_to is not None
    zone = _zone(time_zone)
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    start, end = pref.quiet_from, pref.quiet_to
    inside = start <= t < end if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, end, tzinfo=zone)


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)
