"""The page's language as numbers and dates: Persian digits and Jalali dates in Persian, ASCII
digits and Gregorian dates in English, always in the user's time zone. Template filters
(templatetags/frontend_tags.py), forms and views share these."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jdatetime
from django.utils import timezone, translation

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
# Persian and Arabic-Indic digits, as a Persian keyboard types them, to ASCII ones.
ASCII_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def is_persian() -> bool:
    return (translation.get_language() or "").startswith("fa")


def digits(value: Any) -> str:
    """Persian digits when the page is Persian; the text is unchanged otherwise."""
    text = str(value)
    return text.translate(PERSIAN_DIGITS) if is_persian() else text


def ascii_digits(text: str) -> str:
    return text.translate(ASCII_DIGITS)


def when(value: dt.datetime | None, fmt: str = "datetime") -> str:
    """A moment in the user's zone: Jalali with Persian digits in fa, ISO-like Gregorian in en."""
    if value is None:
        return "—"
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    pattern = "%Y/%m/%d" if fmt == "date" else "%Y/%m/%d %H:%M"
    if is_persian():
        return (
            jdatetime.datetime.fromgregorian(datetime=local)
            .strftime(pattern)
            .translate(PERSIAN_DIGITS)
        )
    return local.strftime(pattern.replace("/", "-"))
