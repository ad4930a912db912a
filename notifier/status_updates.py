"""Status updates over Telegram (issue 20, section 2; incidents/workspace/updates.py): the
words of both messages, as outbox rows carry them.

- a ``status_update`` event reaches the incident's commander and followers (routed by
  ``notifier.recipients``, its row built by ``notifier.outbox`` with ``status_update_message``).
  The body is staff-written text, so it passes the one scrubber (``notifier.privacy``); when
  the scrubber had to take anything out, the message carries no body at all, only "a new status
  update, open the page" and the link: a half-redacted update reads as a puzzle, and a pasted
  customer line must never leave;
- the reminder that the next update is due (``reminder_text``; queued by
  ``notifier.update_reminders``).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.dateparse import parse_datetime

from core.formats import moment
from core.models import Profile
from incidents.choices import Severity, State
from incidents.labels import label
from incidents.models import Event
from notifier.messages import MAX_TEXT, alert_buttons, incident_url
from notifier.privacy import scrub

# A chat is read on a phone: a longer update is cut and the link leads to the rest.
BODY_CHARS = 1500


def chat_body(body: str) -> str:
    """The body as a chat may carry it, or "" when the scrubber found anything to take out."""
    body = unicodedata.normalize("NFKC", body or "").strip()
    if not body or scrub(body) != body:
        return ""
    return body if len(body) <= BODY_CHARS else body[: BODY_CHARS - 1] + "…"


def status_update_text(*, language: str, time_zone: str, event: Event) -> str:
    """The message for one ``status_update`` event in ``language``
    (``notifier/status_update.html``, HTML parse mode)."""
    incident = event.incident
    promised = parse_datetime(event.data.get("next_update_at") or "")
    with translation.override(language):
        text = render_to_string(
            "notifier/status_update.html",
            {
                "reference": incident.reference,
                "severity": label(Severity, incident.severity),
                "state": label(State, incident.state),
                "body": chat_body(event.data.get("body", "")),
                "actor": scrub(event.actor_username)[:64],
                "next_update": moment(promised, language=language, zone=time_zone)
                if promised
                else "",
                "url": incident_url(incident.reference),
            },
        )
    return text.strip()[:MAX_TEXT]


def status_update_message(
    *, language: str, event: Event, user: Any
) -> tuple[str, dict[str, Any] | None]:
    """Text and buttons of a ``status_update`` delivery to ``user`` (for ``notifier.outbox``).
    Updates are rare (a cadence is minutes to hours), so the reader's zone costs one query."""
    profile = Profile.objects.filter(user=user).first() or Profile(user=user)
    text = status_update_text(
        language=language, time_zone=profile.effective_time_zone(), event=event
    )
    buttons = alert_buttons(
        language=language, reference=event.incident.reference, acknowledge=False
    )
    return text, buttons


def reminder_text(*, language: str, time_zone: str, facts: dict[str, Any]) -> str:
    """A reminder that the next status update is due (``notifier/update_reminder.html``)."""
    with translation.override(language):
        text = render_to_string(
            "notifier/update_reminder.html",
            {
                "reference": facts["reference"],
                "severity": label(Severity, facts["severity"]),
                "state": label(State, facts["state"]),
                "due": moment(facts["due_at"], language=language, zone=time_zone),
                "url": incident_url(facts["reference"]),
            },
        )
    return text.strip()[:MAX_TEXT]
