"""Alert text: reference, severity, state, short scrubbed title, actor, link. Nothing else.

Telegram is a third party (DESIGN.md): a message never carries customers' personal data. Only
staff-written fields are used, and the title is still scrubbed because people paste things.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import zoneinfo
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import jdatetime
from django.conf import settings

MAX_TEXT = 4096  # Telegram's limit for sendMessage text, counted after entity parsing
TITLE_CHARS = 80
REDACTED = "[…]"

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "0123456789" * 2)
_SEP = r"[\s\-‌]?"  # space, hyphen or zero-width non-joiner between digit groups
_PATTERNS = [
    re.compile(r"[\w.+\-]+@[\w\-]+(\.[\w\-]+)+", re.UNICODE),  # email
    re.compile(r"IR" + _SEP + r"(\d" + _SEP + r"?){24}", re.IGNORECASE),  # IBAN (sheba)
    re.compile(r"(?<!\d)(\d{4}" + _SEP + r"){3}\d{4}(?!\d)"),  # 16-digit card number
    re.compile(r"(?<!\d)(\+98|0098|0)?9\d{2}" + _SEP + r"\d{3}" + _SEP + r"\d{4}(?!\d)"),  # mobile
    re.compile(r"(?<!\d)\d{3}" + _SEP + r"?\d{6}" + _SEP + r"?\d(?!\d)"),  # 10-digit national id
    re.compile(r"(?<!\d)\d{10,}(?!\d)"),  # any other long number: an account, a phone, an id
]

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "created": "New incident",
        "start_scoping": "Scoping started",
        "start_restoration": "Restoration started",
        "mark_restored": "Restored",
        "refer": "Referred to authorities",
        "close": "Closed",
        "dismiss": "Dismissed",
        "reopen": "Reopened",
        "acknowledged": "Acknowledged",
        "updated": "Severity changed",
        "escalated": "ESCALATION: critical incident not acknowledged",
        "severity": "Severity",
        "state": "State",
        "by": "By",
        "open": "Open",
        "ack": "Acknowledge",
        "low": "low",
        "medium": "medium",
        "high": "high",
        "critical": "CRITICAL",
        "reminder": "Legal deadline",
        "24h": "due in 24 hours",
        "4h": "due in 4 hours",
        "1h": "due in 1 hour",
        "overdue": "OVERDUE",
        "step": "Step",
        "rule": "Rule",
        "due": "Due",
        # One-tap transition buttons (lifecycle.ready_transitions), as commands.
        "do:start_scoping": "Start scoping",
        "do:start_restoration": "Start restoration",
        "do:mark_restored": "Mark restored",
        "do:refer": "Refer",
        "do:close": "Close",
    },
    "fa": {
        "created": "رخداد جدید",
        "start_scoping": "بررسی دامنه آغاز شد",
        "start_restoration": "بازیابی آغاز شد",
        "mark_restored": "بازیابی شد",
        "refer": "به مراجع ارجاع شد",
        "close": "بسته شد",
        "dismiss": "رد شد",
        "reopen": "دوباره باز شد",
        "acknowledged": "تأیید دریافت شد",
        "updated": "شدت تغییر کرد",
        "escalated": "تشدید: رخداد بحرانی هنوز تأیید نشده است",
        "severity": "شدت",
        "state": "وضعیت",
        "by": "توسط",
        "open": "باز کردن",
        "ack": "تأیید دریافت",
        "low": "کم",
        "medium": "متوسط",
        "high": "زیاد",
        "critical": "بحرانی",
        "reminder": "مهلت قانونی",
        "24h": "۲۴ ساعت مانده",
        "4h": "۴ ساعت مانده",
        "1h": "۱ ساعت مانده",
        "overdue": "مهلت گذشته است",
        "step": "گام",
        "rule": "قاعده",
        "due": "مهلت",
        "do:start_scoping": "آغاز بررسی دامنه",
        "do:start_restoration": "آغاز بازیابی",
        "do:mark_restored": "ثبت بازیابی",
        "do:refer": "ارجاع",
        "do:close": "بستن",
    },
}


def t(language: str, key: str) -> str:
    table = TEXTS.get(language) or TEXTS["en"]
    return table.get(key) or TEXTS["en"].get(key, key)


def scrub(text: str) -> str:
    """Replace anything that looks like personal data with a marker (Persian digits included)."""
    text = text.translate(_DIGITS)
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def short_title(title: str) -> str:
    title = " ".join(scrub(title).split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def incident_url(reference: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/incidents/{reference}/"


def url_button_allowed(url: str) -> bool:
    # Telegram refuses inline URL buttons that point at loopback or bare hosts ("wrong HTTP URL").
    host = urlparse(url).hostname or ""
    return "." in host and host not in {"127.0.0.1", "localhost"} and not host.endswith(".local")


def alert_text(
    *,
    language: str,
    kind: str,
    reference: str,
    severity: str,
    state: str,
    title: str,
    actor: str,
    from_state: str = "",
) -> str:
    e = html.escape
    headline = t(language, kind)
    state_line = f"{from_state} → {state}" if from_state and from_state != state else state
    lines = [
        f"{'🚨 ' if severity == 'critical' else ''}<b>{e(headline)}</b>",
        f"<b>{e(reference)}</b>",
        f"{e(t(language, 'severity'))}: {e(t(language, severity))}",
        f"{e(t(language, 'state'))}: {e(state_line)}",
    ]
    if settings.TELEGRAM_INCLUDE_TITLE and title:
        lines.append(f"<i>{e(short_title(title))}</i>")
    if actor:
        lines.append(f"{e(t(language, 'by'))}: {e(actor[:64])}")
    url = incident_url(reference)
    lines.append(f'<a href="{e(url, quote=True)}">{e(t(language, "open"))}</a>')
    return "\n".join(lines)[:MAX_TEXT]


def alert_buttons(
    *, language: str, reference: str, acknowledge: bool, transitions: Sequence[str] = ()
) -> dict[str, Any] | None:
    """Acknowledge and Open in one row; below, a button for each transition the recipient may
    run with one tap (``run:<name>:<reference>``, at most 64 bytes as Telegram requires)."""
    row: list[dict[str, str]] = []
    if acknowledge:
        row.append({"text": t(language, "ack"), "callback_data": f"ack:{reference}"})
    url = incident_url(reference)
    if url_button_allowed(url):
        row.append({"text": t(language, "open"), "url": url})
    steps = [
        {"text": t(language, f"do:{name}"), "callback_data": f"run:{name}:{reference}"}
        for name in transitions
    ]
    keyboard = [r for r in (row, steps) if r]
    return {"inline_keyboard": keyboard} if keyboard else None


def local_time(moment: dt.datetime, *, language: str, time_zone: str) -> str:
    """A due time as people read it: their zone, Jalali in Persian (DESIGN.md).

    Never raises for a representable ``datetime``: a moment the zone cannot shift (near year 1
    or 9999) is shown in UTC, and one Jalali cannot represent in Gregorian ISO form."""
    try:
        local, suffix = moment.astimezone(zoneinfo.ZoneInfo(time_zone)), ""
    except OverflowError:
        local, suffix = moment.astimezone(dt.UTC), " UTC"
    if language == "fa":
        try:
            jalali = jdatetime.datetime.fromgregorian(datetime=local)
        except ValueError:
            pass
        else:
            return jalali.strftime("%Y/%m/%d %H:%M") + suffix
    # isoformat pads the year to four digits; strftime("%Y") does not on every platform.
    return local.isoformat(sep=" ", timespec="minutes")[:16] + suffix


def reminder_text(*, language: str, time_zone: str, facts: dict[str, Any]) -> str:
    """A legal-deadline reminder from ``incidents.obligations.reminder_facts`` (no personal
    data by construction; step and recipient are staff-written, so scrubbed like titles)."""
    e = html.escape
    stage = facts["stage"]
    lines = [
        f"{'⚠️' if stage == 'overdue' else '⏰'} <b>{e(t(language, 'reminder'))}</b>"
        f" · {e(t(language, stage))}",
        f"<b>{e(facts['reference'])}</b> · {e(t(language, facts['severity']))}",
        f"{e(t(language, 'step'))}: {e(short_title(facts['step']))}"
        f" → {e(short_title(facts['recipient']))}",
        f"{e(t(language, 'rule'))}: {e(facts['rule'])}",
        f"{e(t(language, 'due'))}: "
        f"{e(local_time(facts['due_at'], language=language, time_zone=time_zone))}",
        f'<a href="{e(incident_url(facts["reference"]), quote=True)}">{e(t(language, "open"))}</a>',
    ]
    return "\n".join(lines)[:MAX_TEXT]
