"""Dates (Jalali in Persian), durations and digits, in the active language and time zone."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.formats import Format, digits, moment
from incidents.choices import State
from incidents.labels import EVENT_LABELS, FIELD_LABELS, label

register = template.Library()
register.filter("digits", digits)


@register.filter
def when(value: dt.datetime | None, fmt: Format = "datetime") -> str:
    return moment(value, fmt=fmt)


@register.filter
def month(value: dt.date) -> str:
    return moment(value, fmt="month")


@register.filter
def duration(value: dt.timedelta | None) -> str:
    """The two largest units of a span, e.g. "3 d 4 h"."""
    if value is None:
        return "—"
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


@register.filter
def countdown(due: dt.datetime, now: dt.datetime) -> str:
    """How long until a deadline ("in 5 hours 20 minutes"), or how long past it."""
    if due >= now:
        return _("in %(span)s") % {"span": duration(due - now)}
    return _("%(span)s overdue") % {"span": duration(now - due)}


@register.filter
def get(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.filter
def get_field(form: Any, name: str) -> Any:
    return form[name]


@register.filter
def with_id(bound_field: Any, prefix: str) -> Any:
    """Render a form field with an id unique on a page that has one form per transition."""
    return bound_field.as_widget(attrs={"id": f"{prefix}-{bound_field.name}"})


@register.filter
def event_label(kind: str) -> str:
    return str(EVENT_LABELS.get(kind, kind))


@register.filter
def state_label(value: str) -> str:
    return label(State, value)


@register.filter
def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name.replace("_", " ")))


@register.simple_tag
def join_id(*parts: Any) -> str:
    """An element id from parts, for pages with one small form per record and action."""
    return "-".join(str(p) for p in parts)


@register.simple_tag
def widget_with_id(form: Any, name: str, element_id: str) -> str:
    return form[name].as_widget(attrs={"id": element_id})
