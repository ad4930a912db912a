"""Moments and digits as people read them, one place for every output (STYLE.md rule 18): pages,
Telegram messages and documents. Persian reads Jalali dates and Persian digits, English reads
Gregorian dates and ASCII digits, always in the reader's time zone (DESIGN.md ground rules).

Callers name the language and zone they write for (a Telegram recipient's profile), or take the
active ones (a page, under the locale and time-zone middleware). Knows no app."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any, Literal

import jdatetime
from django.utils import timezone, translation
from django.utils.translation import ngettext, pgettext

Format = Literal["date", "datetime", "month", "both"]
NO_MOMENT = "—"

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
# Persian and Arabic-Indic digits, as a Persian keyboard types them, to ASCII ones.
ASCII_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")

_PATTERNS: dict[str, str] = {"date": "%Y/%m/%d", "datetime": "%Y/%m/%d %H:%M", "month": "%Y/%m"}
_ISO_CHARS = {"date": 10, "datetime": 16, "month": 7}


def is_persian(language: str | None = None) -> bool:
    """Whether ``language`` (default: the active one) reads Persian."""
    return (language or translation.get_language() or "").startswith("fa")


def digits(value: Any, *, language: str | None = None) -> str:
    """``value`` as text, in Persian digits for a Persian reader; unchanged otherwise."""
    text = str(value)
    return text.translate(PERSIAN_DIGITS) if is_persian(language) else text


def list_separator() -> str:
    """What goes between the items of a list: ", " in the active language ("، " in Persian)."""
    return pgettext("list separator", ", ")


def duration(value: dt.timedelta | None) -> str:
    """A span in its two largest units ("3 days 4 hours", "45 minutes"), in the reader's
    digits; "—" for none. The pages' and the documents' ``duration`` filter."""
    if value is None:
        return NO_MOMENT
    minutes = max(0, int(value.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours and len(parts) < 2:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if not days and (mins or not parts):
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", mins) % {"n": mins})
    return digits(" ".join(parts))


def ascii_digits(text: str) -> str:
    """Typed Persian or Arabic-Indic digits as ASCII ones, for parsing."""
    return text.translate(ASCII_DIGITS)


def moment(
    value: dt.date | None,
    *,
    language: str | None = None,
    zone: str | dt.tzinfo | None = None,
    fmt: Format = "datetime",
) -> str:
    """``value`` in ``zone`` (default: the active zone) for a reader of ``language`` (default:
    the active language): '1405/09/03 21:30' with Persian digits in Persian, '2026-11-24 21:30'
    in English; ``fmt`` "date" and "month" shorten it. "both" is for documents either reader
    may hold (the dossier): Jalali then Gregorian, ASCII digits, and the zone's name,
    '1405/09/03 21:30 — 2026-11-24 21:30 (Tehran)', whatever the language.

    Never raises for a representable date: a moment the zone cannot shift (near year 1 or
    9999) is shown in UTC and says so, and one outside the Jalali calendar in Gregorian."""
    if value is None:
        return NO_MOMENT
    local, zone_name, overflowed = _localized(value, _zone(zone))
    if fmt == "both":
        gregorian = _gregorian(local, "datetime")
        jalali = _jalali(local, _PATTERNS["datetime"])
        return f"{jalali} — {gregorian} ({zone_name})" if jalali else f"{gregorian} ({zone_name})"
    shown = (is_persian(language) and _jalali(local, _PATTERNS[fmt])) or _gregorian(local, fmt)
    return digits(shown + (" UTC" if overflowed else ""), language=language)


def _zone(zone: str | dt.tzinfo | None) -> dt.tzinfo:
    if zone is None:
        return timezone.get_current_timezone()
    return zoneinfo.ZoneInfo(zone) if isinstance(zone, str) else zone


def _localized(value: dt.date, zone: dt.tzinfo) -> tuple[dt.date, str, bool]:
    """``value`` in ``zone``, the zone's name, and whether it had to be UTC instead: a shift
    past year 1 or 9999 cannot be done. A naive moment or a plain date is taken as local."""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        try:
            value = value.astimezone(zone)
        except OverflowError:
            return value.astimezone(dt.UTC), "UTC", True
    key = getattr(zone, "key", None) or str(zone)
    return value, key.rsplit("/", 1)[-1].replace("_", " "), False


def _jalali(local: dt.date, pattern: str) -> str:
    """The Jalali form, or "" where the Jalali calendar cannot go (before its epoch, past
    its year 9377)."""
    try:
        if isinstance(local, dt.datetime):
            return jdatetime.datetime.fromgregorian(datetime=local).strftime(pattern)
        return jdatetime.date.fromgregorian(date=local).strftime(pattern)
    except ValueError:
        return ""


def _gregorian(local: dt.date, fmt: str) -> str:
    # isoformat pads the year to four digits; strftime("%Y") does not on every platform.
    if isinstance(local, dt.datetime):
        text = local.isoformat(sep=" ", timespec="minutes")
    else:
        text = local.isoformat()
    return text[: _ISO_CHARS[fmt]]
