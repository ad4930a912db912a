"""A notice as one person reads it (issue 18): the texts legal wrote, rendered for a reader.

A campaign's texts are Django templates written by legal users, so they run in a sandbox of
their own: an ``Engine`` with no loaders (``{% include %}`` and ``{% extends %}`` cannot reach a
file), no tag libraries (``{% load %}`` finds none), a short list of tags, and a context of
plain strings only (never a model: no attribute of the database is one dot away).

Legal writes text, not HTML. The text part is the template rendered without escaping; the HTML
part is that text, every character of it escaped (legal's words and the variables alike: a name
such as ``<b>x</b>`` arrives as text), laid out in paragraphs with its web addresses clickable,
inside ``incidents/notices/email.html``, a template of ours rendered with Django's autoescaping.

Nothing here logs: a rendered letter holds a person's name.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template import Context, Engine, TemplateSyntaxError
from django.template.base import Template
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from core.formats import moment
from incidents.choices import DataCategory
from incidents.errors import InvalidChange
from incidents.models import Incident, NoticeLanguage, NoticeTemplate

LANGUAGES = tuple(NoticeLanguage.values)
# What a campaign's texts may hold: the templates' own limits, and an SMS short enough for a
# few segments (a Persian SMS segment holds 67 characters).
SUBJECT_MAX = NoticeTemplate._meta.get_field("subject").max_length
BODY_MAX = NoticeTemplate._meta.get_field("body").max_length
SMS_MAX = 500
# The only tags and filters a notice may use: conditions, loops and a few harmless helpers.
# Everything else of Django's built-ins ({% include %}, {% extends %}, {% load %}, {% url %},
# {% debug %}, {% now %}; |center:"1000000000" and other filters that can blow a letter up) is
# refused when the campaign is drafted. A loop runs over the two lists of the context only,
# never inside another loop, so no letter outgrows its texts times the number of categories.
TAGS = frozenset(
    {
        "if",
        "elif",
        "else",
        "endif",
        "for",
        "empty",
        "endfor",
        "with",
        "endwith",
        "firstof",
        "comment",
        "endcomment",
        "spaceless",
        "endspaceless",
    }
)
FILTERS = frozenset(
    {
        "default",
        "default_if_none",
        "upper",
        "lower",
        "title",
        "capfirst",
        "first",
        "last",
        "length",
        "join",
        "yesno",
        "truncatechars",
        "truncatewords",
    }
)
LOOPS = frozenset({"categories", "advice"})
# Template tokens as Django's lexer reads them: each on one line.
_TOKEN = re.compile(r"\{%(.*?)%\}|\{\{(.*?)\}\}")
_FILTER = re.compile(r"\|\s*(\w*)")
_URL = re.compile(r"https?://[^\s<>\"']+")
# The context names a notice may use (docs/notifications.md lists them for legal).
VARIABLES = (
    "name",
    "company",
    "reference",
    "notice_url",
    "categories",
    "advice",
    "detected_on",
    "aware_on",
    "contact",
)
SANDBOX = Engine(loaders=[], libraries={}, autoescape=False, string_if_invalid="")
# The notice page's address must outlive a letter: a purpose of its own for Django's keyed MAC.
SLUG_SALT = "breach-desk notice page"
SLUG_MAC_CHARS = 12
_SLUG = re.compile(rf"(inc-\d{{4}}-\d{{4,}})-([0-9a-f]{{{SLUG_MAC_CHARS}}})")


@dataclass(frozen=True)
class Letter:
    """One person's notice: the email's subject, text and HTML parts, and the SMS."""

    subject: str
    text: str
    html: str
    sms: str


@functools.lru_cache(maxsize=256)
def compiled(source: str) -> Template:
    """The template of ``source`` in the sandbox (compiled once per text: a campaign's 100,000
    letters share theirs)."""
    return SANDBOX.from_string(source)


def check_source(source: str, field: str) -> None:
    """InvalidChange naming ``field`` unless ``source`` uses only the allowed tags, filters and
    loops, compiles in the sandbox and renders for a sample reader."""
    problem = _refusal(source)
    if problem:
        raise InvalidChange({field: [problem]})
    try:
        template = compiled(source)
        template.render(Context(_sample_context(), autoescape=False))
    except TemplateSyntaxError as exc:
        message = _("Not a valid template: %(error)s") % {"error": exc}
        raise InvalidChange({field: [message]}) from None
    except Exception as exc:  # a filter that fails on a sample value fails on real ones too
        message = _("The template cannot be rendered: %(error)s") % {"error": type(exc).__name__}
        raise InvalidChange({field: [message]}) from None


def _refusal(source: str) -> str | None:
    """Why the sandbox refuses ``source`` (a tag, a filter or a loop it does not allow)."""
    depth = 0
    for tag, variable in _TOKEN.findall(source):
        for name in _FILTER.findall(tag or variable):
            if name not in FILTERS:
                return _("The filter |%(name)s is not allowed in a notice.") % {"name": name}
        words = tag.split()
        if not words:
            continue
        if words[0] not in TAGS:
            return _("The tag {%% %(tag)s %%} is not allowed in a notice.") % {"tag": words[0]}
        if words[0] == "for":
            over = words[words.index("in") + 1] if "in" in words[:-1] else ""
            if depth or over not in LOOPS:
                return _(
                    "A loop runs over categories or advice only, and never inside another loop."
                )
            depth += 1
        elif words[0] == "endfor":
            depth = max(depth - 1, 0)
    return None


def _sample_context() -> dict[str, Any]:
    return {
        "name": "Sample",
        "company": "Company",
        "reference": "INC-2026-0001",
        "notice_url": "https://example.com/notice/inc-2026-0001-000000000000/",
        "categories": ["Contact", "Identity"],
        "advice": ["Advice."],
        "detected_on": "2026-01-01",
        "aware_on": "2026-01-01",
        "contact": "support@example.com",
    }


def company_name(language: str) -> str:
    return settings.COMPANY_NAME_FA if language == NoticeLanguage.FA else settings.COMPANY_NAME


def notice_slug(reference: str) -> str:
    """The public notice page's slug of an incident: its reference and a keyed MAC of it, so the
    address of one incident's page tells nobody another's (and a count of incidents is not a
    walk through INC-2026-0001, -0002 ...)."""
    mac = salted_hmac(SLUG_SALT, reference, algorithm="sha256").hexdigest()[:SLUG_MAC_CHARS]
    return f"{reference.lower()}-{mac}"


def reference_of_slug(slug: str) -> str | None:
    """The incident reference a notice page slug names, or None for a slug we did not make.
    Slugs made under a key in SECRET_KEY_FALLBACKS still open (letters already sent)."""
    match = _SLUG.fullmatch(slug)
    if match is None:
        return None
    reference = match[1].upper()
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        mac = salted_hmac(SLUG_SALT, reference, secret=secret, algorithm="sha256").hexdigest()
        if constant_time_compare(mac[:SLUG_MAC_CHARS], match[2]):
            return reference
    return None


def notice_url(reference: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/notice/{notice_slug(reference)}/"


def reader_context(incident: Incident, language: str, name: str) -> dict[str, Any]:
    """What a notice may say, as plain strings in the reader's language and calendar. Call with
    ``language`` active (the data categories' names are the catalogue's)."""
    chosen = set(incident.data_categories or [])
    when = {"language": language, "zone": settings.TIME_ZONE, "fmt": "date"}
    return {
        "name": name,
        "company": company_name(language),
        "reference": incident.reference,
        "notice_url": notice_url(incident.reference),
        "categories": [str(c.label) for c in DataCategory if c.value in chosen],
        "detected_on": moment(incident.detected_at, **when),
        "aware_on": moment(incident.aware_at, **when),
        "contact": settings.NOTICE_CONTACT,
    }


def render(source: str, context: dict[str, Any]) -> str:
    """``source`` rendered for one reader: trailing spaces dropped, at most one blank line in a
    row (a loop's empty lines), no blank start or end."""
    text = compiled(source).render(Context(context, autoescape=False))
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def one_line(text: str) -> str:
    """A subject fits one header line: any run of whitespace (newlines too) is one space."""
    return " ".join(text.split())


def letter(texts: dict[str, Any], incident: Incident, language: str, name: str) -> Letter:
    """One reader's letter from a campaign's texts (``subject``, ``body``, ``sms``, ``advice``,
    each keyed by language)."""
    with translation.override(language):
        context = reader_context(incident, language, name)
        context["advice"] = [
            render(block["text"], context) for block in texts["advice"].get(language, [])
        ]
        subject = one_line(render(texts["subject"][language], context))
        text = render(texts["body"][language], context)
        html = render_to_string(
            "incidents/notices/email.html",
            {
                "subject": subject,
                "body": as_html(text),
                "language": language,
                "rtl": language == "fa",
            },
        )
        sms = render(texts["sms"][language], context)
    return Letter(subject=subject, text=text, html=html, sms=sms)


def as_html(text: str) -> SafeString:
    """The letter's text as HTML: every character escaped, a blank line a new paragraph, a line
    break a ``<br>``, web addresses clickable. (Django's ``urlize`` does the links as well, at
    some 2.5 ms a letter: most of a notice's cost.)"""
    paragraphs = (
        format_html(
            "<p>{}</p>", mark_safe("<br>\n".join(_linked(line) for line in block.split("\n")))
        )
        for block in text.split("\n\n")
    )
    return mark_safe("\n".join(paragraphs))


def _linked(line: str) -> str:
    """One line, escaped, its web addresses as links (the text between them escaped too)."""
    parts, last = [], 0
    for match in _URL.finditer(line):
        url = match.group().rstrip(".,;:!?)»،؛")
        parts.append(escape(line[last : match.start()]))
        parts.append(format_html('<a href="{}">{}</a>', url, url))
        last = match.start() + len(url)
    parts.append(escape(line[last:]))
    return "".join(parts)


def digest(channel: str, letter: Letter) -> str:
    """SHA-256 of a notice as sent on ``channel``: the canonical JSON of its parts (the email's
    subject, text and HTML; or the SMS), never the address. Recomputing it from the campaign's
    texts and the person's name proves what they were told."""
    if channel == "sms":
        parts: dict[str, str] = {"channel": channel, "text": letter.sms}
    else:
        parts = {"channel": channel, "subject": letter.subject, "text": letter.text}
        parts["html"] = letter.html
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def sample_name(language: str) -> str:
    """The name of the clearly made-up reader a preview uses when the register holds nobody of
    that language."""
    with translation.override(language):
        return pgettext("notice preview", "[Sample Customer]")
