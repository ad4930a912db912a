"""Filters for typeset documents (incidents/legal/typeset.py), in the document's language (the
active one while its template renders): moments in that language's calendar and digits, sizes.

``{{ value|moment }}``: Persian reads the Jalali date in Persian digits with the Gregorian date
beside it in small type (for a foreign recipient); English reads the Gregorian date. Both in
TIME_ZONE, which a document names once."""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

from core import formats
from incidents.choices import AttackVector, Authority, DataCategory, Hosting
from incidents.labels import label

register = template.Library()
register.filter("duration", formats.duration)  # the pages' too: one way to say a span


@register.filter
def moment(value: dt.datetime | None, fmt: formats.Format = "datetime") -> SafeString | str:
    if value is None:
        return formats.NO_MOMENT
    shown = formats.moment(value, fmt=fmt)
    if not formats.is_persian():
        return shown
    gregorian = formats.moment(value, fmt=fmt, language="en")
    return format_html(
        '<span class="nowrap">{}</span> <span class="gregorian">{}</span>', shown, gregorian
    )


@register.filter
def clock(value: dt.datetime) -> str:
    """The time of day alone ("02:10", "۰۲:۱۰"), in the active zone."""
    return formats.digits(timezone.localtime(value).strftime("%H:%M"))


@register.filter
def css_string(value: Any) -> SafeString:
    """A CSS string literal of the text (for ``content:`` in a document's page rules)."""
    text = "".join(
        c if c.isprintable() and c not in '"\\<>' else f"\\{ord(c):x} " for c in str(value)
    )
    return mark_safe(f'"{text}"')


@register.filter
def digits(value: Any) -> str:
    return formats.digits(value)


@register.filter
def number(value: int | None) -> str:
    """An integer with thousands separated ("12,500"; Persian "۱۲٬۵۰۰"), "—" for none."""
    if value is None:
        return "—"
    text = f"{value:,}"
    if formats.is_persian():
        text = text.replace(",", "\u066c")
    return formats.digits(text)


@register.filter
def filesize(size: int) -> str:
    """Bytes in words a reader takes in at a glance, the exact count beside: "1.2 MB (1,234,567
    bytes)"; Persian "۱٫۲ مگابایت (۱٬۲۳۴٬۵۶۷ بایت)"."""
    exact = _("%(n)s bytes") % {"n": number(size)}
    for scale, unit in ((1024**3, _("%(n)s GB")), (1024**2, _("%(n)s MB")), (1024, _("%(n)s KB"))):
        if size >= scale:
            shown = f"{size / scale:.1f}"
            if formats.is_persian():
                shown = shown.replace(".", "\u066b")  # the Persian decimal separator
            return f"{unit % {'n': formats.digits(shown)}} ({exact})"
    return exact


# WeasyPrint does not implement `unicode-bidi: isolate` (nor <bdi>): free text of unknown
# direction is isolated with Unicode's own marks instead, which Pango's bidi honours.
FIRST_STRONG_ISOLATE, POP_ISOLATE = "\u2068", "\u2069"


@register.filter
def isolate(value: Any) -> str:
    """Text of unknown direction set inside a line without disturbing it: "(FATA)." beside
    Persian words keeps its brackets and full stop where the writer put them."""
    text = str(value)
    return f"{FIRST_STRONG_ISOLATE}{text}{POP_ISOLATE}" if text else text


@register.filter
def direction(value: Any) -> str:
    """ "rtl" or "ltr", by the text's first strong letter (as dir="auto" would; WeasyPrint
    has no dir="auto"), "" for text with none: for a block holding someone's own words."""
    for char in str(value):
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return ""


@register.filter
def categories(values: list[str]) -> str:
    """Data categories in words, comma-separated in the active language."""
    return pgettext("list separator", ", ").join(label(DataCategory, v) for v in values) or "—"


@register.filter
def hosting(value: str) -> str:
    return label(Hosting, value)


@register.filter
def authority(value: str) -> str:
    return label(Authority, value)


@register.filter
def attack_vector(value: str) -> str:
    return label(AttackVector, value) if value else "—"


@register.filter
def translated(value: str) -> str:
    """A stored English phrase of the catalogue (a seeded rule's step) in the active language."""
    return _(value) if value else value


ROLE_LABELS = {
    "engineer": pgettext_lazy("role", "engineer"),
    "legal": pgettext_lazy("role", "legal"),
    "executive": pgettext_lazy("role", "executive"),
    "admin": pgettext_lazy("role", "admin"),
}


@register.filter
def role(value: str) -> str:
    return str(ROLE_LABELS.get(value, value))


@register.filter
def get_item(mapping: dict[Any, Any], key: Any) -> Any:
    return mapping.get(key)
