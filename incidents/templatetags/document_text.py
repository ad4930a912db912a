"""Filters for the drafted text of documents (incidents/legal/document_texts.py): plain text
legal then edits, so no markup, in the active language's calendar and digits."""

from __future__ import annotations

import datetime as dt

from django import template

from core import formats

register = template.Library()


@register.filter
def plain_moment(value: dt.datetime | None, fmt: formats.Format = "datetime") -> str:
    """'1405/09/03 21:30' in Persian (Persian digits), '2026-11-24 21:30' in English."""
    return formats.moment(value, fmt=fmt)


@register.filter
def plain_number(value: int | None) -> str:
    """An integer with its thousands separated, in the active language's digits; "—" for none."""
    if value is None:
        return formats.NO_MOMENT
    text = f"{value:,}"
    if formats.is_persian():
        text = text.replace(",", "\u066c")
    return formats.digits(text)
