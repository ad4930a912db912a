"""Investigation notes: what responders found and did, written on the incident's timeline.

The promise is to investigate the source and extent of a breach; the fields hold the conclusions,
notes hold the work that led there ("02:14 the phishing mail reached 3 mailboxes"). A note is an
event like any other change, so it is hash-chained with the record: it can be neither edited nor
deleted, and a correction is a new note. Notes may hold personal data, so the notifier never
sends them (notifier/recipients.py routes no ``note`` event).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from core.roles import WRITER_ROLES, has_any_role
from incidents.changing import changing
from incidents.choices import NOTE_MAX_LENGTH
from incidents.errors import InvalidChange, RoleForbidden
from incidents.events import append_event
from incidents.models import Event, Incident

NOTE = "note"


def may_add_notes(user: Any) -> bool:
    """Everyone who works on incidents; executives only read (DESIGN.md)."""
    return has_any_role(user, WRITER_ROLES)


def ensure_may_add_notes(actor: Any) -> None:
    """RoleForbidden unless the actor may add notes (callers may check before parsing)."""
    if not may_add_notes(actor):
        raise RoleForbidden(_("Your role may read notes but not add them."))


def add_note(incident: Incident, *, actor: Any, text: str) -> tuple[Incident, Event]:
    """Append one note, in any state: work goes on after closing (an authority's answer, a
    lesson learned). The incident's fields and version do not change, so a note never makes
    someone's edit stale."""
    ensure_may_add_notes(actor)
    text = text.strip()
    if not text:
        raise InvalidChange({"text": [_("A note needs some text.")]})
    if len(text) > NOTE_MAX_LENGTH:
        raise InvalidChange(
            {"text": [_("A note holds at most %(max)d characters.") % {"max": NOTE_MAX_LENGTH}]}
        )
    with changing(incident) as locked:
        event = append_event(locked, NOTE, actor=actor, data={"text": text})
    return locked, event
