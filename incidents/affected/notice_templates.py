"""The notice templates (issue 18): seeded from the text files beside the app's templates, and
chosen for a campaign by the data categories its incident leaked.

Seed files (``incidents/templates/incidents/notices/``): ``base.<lang>.txt`` is the letter, its
first line the subject, a blank line, then the body; ``sms.<lang>.txt`` the SMS; and
``advice/<category>.<lang>.txt`` the advice added when that category leaked. Migration
incidents/0007 loads them into ``NoticeTemplate`` once; admins edit them there, and seeding again
(``seed_notice_templates``) only adds what is missing, never overwriting an edit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from incidents.affected.letters import LANGUAGES
from incidents.choices import DataCategory
from incidents.errors import InvalidChange
from incidents.models import Incident, NoticeTemplate

SEED_DIR = Path(__file__).resolve().parent.parent / "templates" / "incidents" / "notices"
BASE, SMS = NoticeTemplate.BASE, "sms"
# Every kind a template may have: the letter, the SMS, and one advice per data category.
KINDS = (BASE, SMS, *DataCategory.values)


def seed_texts() -> Iterator[tuple[str, str, str, str]]:
    """(kind, language, subject, body) of every seed file."""
    for language in LANGUAGES:
        subject, _blank, body = _read(f"base.{language}.txt").partition("\n\n")
        yield BASE, language, subject.strip(), body.strip()
        yield SMS, language, "", _read(f"sms.{language}.txt").strip()
        for category in DataCategory.values:
            yield category, language, "", _read(f"advice/{category}.{language}.txt").strip()


def _read(name: str) -> str:
    return (SEED_DIR / name).read_text(encoding="utf-8")


def seed_notice_templates(model: Any = NoticeTemplate) -> list[str]:
    """Create the seed templates that do not exist yet ("kind.language"); ``model`` is the
    migration's historical model when a migration calls it."""
    created = []
    for kind, language, subject, body in seed_texts():
        _row, was_created = model.objects.get_or_create(
            kind=kind, language=language, defaults={"subject": subject, "body": body}
        )
        if was_created:
            created.append(f"{kind}.{language}")
    return created


def texts_from_templates(incident: Incident, *, letter: bool = True) -> dict[str, Any]:
    """A campaign's texts from the templates as they are now: the letter and the SMS (unless
    ``letter`` is False: only the SMS and the advice), and the advice of each data category
    the incident leaked, in the vocabulary's order. InvalidChange when an admin deleted a letter
    or SMS template a language needs."""
    categories = [c for c in DataCategory.values if c in set(incident.data_categories or [])]
    rows = {(t.kind, t.language): t for t in NoticeTemplate.objects.filter(kind__in=KINDS)}
    texts: dict[str, Any] = {"subject": {}, "body": {}, "sms": {}, "advice": {}}
    needed = (BASE, SMS) if letter else (SMS,)
    for language in LANGUAGES:
        missing = [kind for kind in needed if (kind, language) not in rows]
        if missing:
            message = _(
                "There is no '%(kind)s' notice template in '%(language)s': an admin adds it in "
                "the admin site, or write the texts with the campaign."
            )
            raise InvalidChange(
                {"templates": [message % {"kind": missing[0], "language": language}]}
            )
        if letter:
            texts["subject"][language] = rows[BASE, language].subject
            texts["body"][language] = rows[BASE, language].body
        texts["sms"][language] = rows[SMS, language].body
        texts["advice"][language] = [
            {"category": c, "text": rows[c, language].body}
            for c in categories
            if (c, language) in rows
        ]
    return texts
