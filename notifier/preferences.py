"""What each person wants on each channel (issue 22): the defaults and the decision.

No ``AlertPreference`` row means the channel's default: a linked chat (Telegram, Bale) gets every
alert routed to the person, as Telegram always did; email gets critical incidents and
escalations, and nothing at all with ``EMAIL_ALERTS`` off. A row overrides per channel: on or
off, a severity threshold for every alert about an incident, only the person's own incidents,
and quiet hours in their time zone (critical alerts and escalations break through).

The decisions are pure, over values read once per batch (``notifier.recipients``); below them,
what the preferences API and page read and write.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.choices import SEVERITY_RANK, Severity
from notifier.models import BALE, BOT_CHANNELS, EMAIL, TELEGRAM, AlertPreference, ChatLink

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


# --- reading and changing one person's preferences (the API and the page) ----------------------

CHANNEL_LABELS = {TELEGRAM: _("Telegram"), BALE: _("Bale"), EMAIL: _("Email")}


@dataclass(frozen=True)
class ChannelState:
    """One channel as its owner sees it: the effective preference and whether it can reach
    them at all (a linked chat, an address, email alerts on)."""

    preference: Preference
    reachable: bool
    detail: str  # the chat's account name, the address, or why it cannot reach them

    @property
    def channel(self) -> str:
        return self.preference.channel

    @property
    def label(self) -> str:
        return str(CHANNEL_LABELS[self.channel])


def channel_states(user: Any) -> list[ChannelState]:
    """Telegram, Bale and email for ``user`` (three queries, whatever they have)."""
    prefs = preferences_of([user.pk])
    links = {link.channel: link for link in ChatLink.objects.filter(user=user)}
    states = []
    for channel in BOT_CHANNELS:
        link = links.get(channel)
        reachable = link is not None and link.active
        if link is None:
            detail = str(_("not linked"))
        elif not link.active:
            detail = str(_("link inactive: %(reason)s") % {"reason": link.deactivated_reason})
        else:
            detail = link.username or str(link.chat_id)
        states.append(ChannelState(prefs.of(user.pk, channel), reachable, detail))
    if not settings.EMAIL_ALERTS:
        email = (False, str(_("email alerts are off on this server")))
    elif not user.email:
        email = (False, str(_("no email address on your account")))
    else:
        email = (True, user.email)
    states.append(ChannelState(prefs.of(user.pk, EMAIL), *email))
    return states


def quiet_hours_error(quiet_from: dt.time | None, quiet_to: dt.time | None) -> str | None:
    """Why a pair of quiet-hour bounds is refused, or None: both or neither, and not equal."""
    if (quiet_from is None) != (quiet_to is None):
        return str(_("Give both the start and the end of the quiet hours, or neither."))
    if quiet_from is not None and quiet_from == quiet_to:
        return str(_("Quiet hours must start and end at different times."))
    return None


def set_preference(user: Any, channel: str, **values: Any) -> Preference:
    """Store ``user``'s choice on ``channel``: the given fields of ``AlertPreference`` over the
    effective ones (a first change starts from the channel's default). Validated by the
    caller's serializer or form (``quiet_hours_error``)."""
    if channel not in PERSON_CHANNELS:
        raise ValueError(f"not a person's channel: {channel}")
    # The stored row, not the effective choice: EMAIL_ALERTS off is the server's switch, and
    # must not be written into the person's choice.
    current: Any = AlertPreference.objects.filter(user=user, channel=channel).first()
    if current is None:
        current = default_preference(channel)
        current = Preference(channel, True, current.min_severity)
    fields = ("enabled", "min_severity", "own_incidents_only", "quiet_from", "quiet_to")
    defaults = {name: values.get(name, getattr(current, name)) for name in fields}
    defaults["updated_at"] = timezone.now()
    row, _created = AlertPreference.objects.update_or_create(
        user=user, channel=channel, defaults=defaults
    )
    return from_row(row)


def set_preferences(user: Any, changes: dict[str, dict[str, Any]]) -> None:
    """Store ``user``'s choices on several channels (``{channel: values}``): all or none."""
    with transaction.atomic():
        for channel, values in changes.items():
            set_preference(user, channel, **values)
