"""Dates (Jalali in Persian), durations and digits, in the active language and time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from core.formats import NO_MOMENT, Format, digits, duration, is_persian, list_separator, moment
from incidents.choices import State
from incidents.labels import EVENT_LABELS, FIELD_LABELS, label

register = template.Library()
register.filter("digits", digits)
register.filter("duration", duration)
# What goes between the items of a list written out by a loop (see ``join_local``): the
# timelines' and documents' one, "، " in Persian.
register.simple_tag(list_separator, name="list_separator")


@register.filter
def when(value: dt.datetime | None, fmt: Format = "datetime") -> str:
    return moment(value, fmt=fmt)


@register.filter
def month(value: dt.date) -> str:
    return moment(value, fmt="month")


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
def auto_dir(bound_field: Any) -> Any:
    """A text box of a form built elsewhere (the list's filter), taking its direction from what
    is typed, as the page forms' boxes do (frontend/forms.py Form)."""
    return bound_field.as_widget(attrs={"dir": "auto"})


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


@register.filter
def ago(value: dt.datetime | None) -> SafeString | str:
    """A moment as people say it ("12 minutes ago", "in 3 hours", "۱۲ دقیقه پیش"), the exact
    moment (Jalali in Persian) on hover and focus; relative.js keeps the words current."""
    if value is None:
        return NO_MOMENT
    words = digits(naturaltime(value).replace("،", "، ").replace("،  ", "، "))
    return format_html(
        '<time class="ago" datetime="{}" title="{}" tabindex="0">{}</time>',
        value.isoformat(),
        moment(value),
        words,
    )


@register.filter
def due(value: dt.datetime, now: dt.datetime) -> SafeString:
    """A deadline's countdown ("in 5 hours 20 minutes", "2 hours overdue"), the exact moment on
    hover and focus; relative.js ticks it from the datetime and the two sentence templates."""
    return format_html(
        '<time class="countdown" datetime="{}" title="{}" tabindex="0" data-future="{}"'
        ' data-past="{}">{}</time>',
        value.isoformat(),
        moment(value),
        _("in %(span)s") % {"span": "{}"},
        _("%(span)s overdue") % {"span": "{}"},
        countdown(value, now),
    )


@register.filter
def join_local(values: Iterable[Any]) -> str:
    """A list as the reader's language writes one: "a، b" in Persian, "a, b" in English."""
    return list_separator().join(str(v) for v in values)


@register.filter
def number(value: float | int) -> str:
    """A number in the reader's digits and decimal separator (Persian: ۳٫۵)."""
    text = str(value)
    return digits(text.replace(".", "٫") if is_persian() else text)
