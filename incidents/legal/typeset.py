"""Documents typeset to PDF: a Django HTML template rendered in one language, laid out by
WeasyPrint (Pango and HarfBuzz shape Persian and resolve bidirectional text themselves).

Every document extends ``incidents/print/base.html`` (the letterhead, "page n of m" in the
document's language and digits) and gets the shared print stylesheet
``incidents/print/print.css``. Fonts come from PyPI packages, so no machine needs system fonts:
IBM Plex Sans Arabic for Persian (one glyph per letter form, so text copied or extracted from
the PDF reads as it was written; Noto Sans Arabic draws dots as glyphs of their own, which a
PDF's ToUnicode map cannot name) and IBM Plex Sans for Latin.

Thread safety: a WeasyPrint FontConfiguration (a fontconfig set and a Pango font map) is not to
be shared between threads, and it writes each ``@font-face`` file into a temporary folder of its
own. Each request thread therefore keeps its own configuration and parsed stylesheet for its
lifetime (the web process's request threads are long-lived: core/request_threads.py): nothing is
shared, nothing is written to a common file, and only a thread's first document pays the set-up.
"""

from __future__ import annotations

import logging
import threading
from functools import cache
from pathlib import Path
from typing import Any

import fontpkg_ibm_plex_sans
import fontpkg_ibm_plex_sans_arabic
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

BASE_TEMPLATE = "incidents/print/base.html"
STYLESHEET = Path(__file__).resolve().parent.parent / "templates/incidents/print/print.css"
LANGUAGES = ("fa", "en")
PERSIAN_WEIGHTS = {400: "Regular", 500: "Medium", 700: "Bold"}

_local = threading.local()

# WeasyPrint narrates each step of each document at INFO, and fontTools each font it pins to
# a weight: a dossier would flood the log.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
logging.getLogger("fontTools").setLevel(logging.WARNING)


class UnknownLanguage(ValueError):
    pass


def render_pdf(template_name: str, context: dict[str, Any], *, language: str) -> bytes:
    """The template (extending ``incidents/print/base.html``) rendered in ``language`` ("fa" or
    "en") and typeset as PDF bytes. The context gains ``language``, ``direction`` ("rtl" /
    "ltr"), ``letterhead`` ({name, address, logo}) and ``page_footer`` (CSS content)."""
    if language not in LANGUAGES:
        raise UnknownLanguage(language)
    # Documents speak the company's zone (TIME_ZONE, named in them), whoever asks.
    with translation.override(language), timezone.override(settings.TIME_ZONE):
        html = render_to_string(
            template_name,
            {
                **context,
                "language": language,
                "direction": "rtl" if language == "fa" else "ltr",
                "letterhead": letterhead(language),
                "page_footer": page_footer(language),
            },
        )
    fonts, stylesheet = _engine()
    document = HTML(string=html, base_url=str(STYLESHEET.parent), url_fetcher=_LocalFilesOnly())
    return document.write_pdf(stylesheets=[stylesheet], font_config=fonts)


def letterhead(language: str) -> dict[str, str]:
    """The company's name and address in ``language`` (COMPANY_NAME_FA and COMPANY_ADDRESS_FA
    in Persian, COMPANY_NAME and COMPANY_ADDRESS in English), and its logo as a file URI ("" when
    there is none)."""
    persian = language == "fa"
    logo = settings.COMPANY_LOGO
    return {
        "name": settings.COMPANY_NAME_FA if persian else settings.COMPANY_NAME,
        "address": settings.COMPANY_ADDRESS_FA if persian else settings.COMPANY_ADDRESS,
        "logo": Path(logo).resolve().as_uri() if logo else "",
    }


def page_footer(language: str) -> str:
    """CSS ``content`` for "page n of m" in ``language``'s words and digits (Persian digits
    through WeasyPrint's ``persian`` counter style)."""
    style = ", persian" if language == "fa" else ""
    with translation.override(language):
        words = _("Page %(n)s of %(total)s")
    pieces = words.replace("%(n)s", "\0page\0").replace("%(total)s", "\0pages\0").split("\0")
    parts = []
    for i, piece in enumerate(pieces):
        if i % 2:
            parts.append(f"counter({piece}{style})")
        elif piece:
            parts.append('"' + piece.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return " ".join(parts)


def _engine() -> tuple[FontConfiguration, CSS]:
    """This thread's font configuration and parsed stylesheet, made on its first document."""
    engine = getattr(_local, "engine", None)
    if engine is None:
        fonts = FontConfiguration()
        stylesheet = CSS(
            string=font_faces() + STYLESHEET.read_text(encoding="utf-8"),
            font_config=fonts,
            url_fetcher=_LocalFilesOnly(),
        )
        engine = _local.engine = (fonts, stylesheet)
    return engine


@cache
def font_faces() -> str:
    """``@font-face`` rules for the packaged fonts: "Desk Persian" (static weights) and "Desk
    Latin" (a variable font covering every weight)."""
    persian = fontpkg_ibm_plex_sans_arabic.ROOT / "files"
    latin = next((fontpkg_ibm_plex_sans.ROOT / "files").glob("IBMPlexSans[[]*.ttf"))
    rules = [
        f'@font-face {{ font-family: "Desk Persian"; font-weight: {weight}; '
        f'src: url("{(persian / f"IBMPlexSansArabic-{name}.ttf").as_uri()}"); }}'
        for weight, name in PERSIAN_WEIGHTS.items()
    ]
    rules.append(f'@font-face {{ font-family: "Desk Latin"; src: url("{latin.as_uri()}"); }}')
    return "\n".join(rules) + "\n"


def _allowed_files() -> set[str]:
    persian = fontpkg_ibm_plex_sans_arabic.ROOT / "files"
    allowed = {(persian / f"IBMPlexSansArabic-{n}.ttf").as_uri() for n in PERSIAN_WEIGHTS.values()}
    allowed |= {p.as_uri() for p in (fontpkg_ibm_plex_sans.ROOT / "files").glob("*.ttf")}
    if settings.COMPANY_LOGO:
        allowed.add(Path(settings.COMPANY_LOGO).resolve().as_uri())
    return allowed


class _LocalFilesOnly(URLFetcher):
    """WeasyPrint reads the packaged fonts and the configured logo, nothing else: a document
    never reaches the network or the file system on behalf of text it prints."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("file",))

    def fetch(self, url: str, headers: Any = None) -> Any:
        if url not in _allowed_files():
            raise ValueError(f"not fetched for a document: {url[:80]}")
        return super().fetch(url, headers)
