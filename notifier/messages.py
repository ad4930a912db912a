"""Alert text: reference, severity, state, short scrubbed title, actor, link. Nothing else.

Telegram is a third party (DESIGN.md): a message never carries customers' personal data. Only
staff-written fields are used, and every one of them is still scrubbed (``notifier.privacy``)
before the text is built, because people paste things.

The words are the catalogue's (STYLE.md rule 18): messages are templates (notifier/templates/)
rendered in the recipient's language, with the pages' names for states, severities, events and
transitions, and moments from ``core.formats``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.db import models
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext, pgettext

from core.formats import moment
from incidents.choices import Severity, State
from incidents.labels import EVENT_LABELS, TRANSITION_LABELS, label
from notifier.privacy import scrub

MAX_TEXT = 4096  # Telegram's limit for sendMessage text, counted after entity parsing
TITLE_CHARS = 80
SUBJECT_CHARS = 200  # Delivery.subject


def short_title(title: str) -> str:
    title = " ".join(scrub(title).split())
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def incident_url(reference: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/incidents/{reference}/"


def url_button_allowed(url: str) -> bool:
    # Telegram refuses inline URL buttons that point at loopback or bare hosts ("wrong HTTP URL").
    host = urlparse(url).hostname or ""
    return "." in host and host not in {"127.0.0.1", "localhost"} and not host.endswith(".local")


def headline(kind: str, *, decision_stale: bool = False) -> str:
    """An alert's first line: the timeline's words for the event (``incidents.labels``). An
    edit is alerted only when it changed the severity or made the notification decision stale
    (``notifier.recipients``), so its alert says which."""
    if kind == "updated":
        if decision_stale:
            return gettext("Scope changed: decide again on telling the people affected")
        return gettext("Severity changed")
    return str(EVENT_LABELS.get(kind, kind))


def alert_text(*, language: str, **facts: Any) -> str:
    """The alert for one event in ``language`` (``notifier/alert.html``, HTML parse mode);
    ``facts`` are ``alert_context``'s arguments."""
    with translation.override(language):
        text = render_to_string("notifier/alert.html", alert_context(**facts))
    return text.strip()[:MAX_TEXT]


def alert_email(*, language: str, **facts: Any) -> tuple[str, str]:
    """The same alert as an email to staff, ``(subject, plain text)``, in ``language``
    (``notifier/alert_email_subject.txt``, ``notifier/alert_email.txt``): the same facts, the
    same scrubbing, nothing more."""
    with translation.override(language):
        context = alert_context(**facts)
        context["preferences_url"] = f"{settings.PUBLIC_BASE_URL}/profile/alerts/"
        subject = render_to_string("notifier/alert_email_subject.txt", context)
        body = render_to_string("notifier/alert_email.txt", context)
    return " ".join(subject.split())[:SUBJECT_CHARS], body.strip() + "\n"


def alert_context(
    *,
    kind: str,
    reference: str,
    severity: str,
    state: str,
    title: str,
    actor: str,
    from_state: str = "",
    from_severity: str = "",
    decision_stale: bool = False,
) -> dict[str, Any]:
    """What an alert may say (DESIGN.md): reference, severity, state, the scrubbed short title,
    the actor, the link. Call inside the recipient's language."""
    return {
        "critical": severity == Severity.CRITICAL,
        "headline": headline(kind, decision_stale=decision_stale),
        "reference": reference,
        "severity": label(Severity, severity),
        "from_severity": _changed(Severity, from_severity, severity),
        "state": label(State, state),
        "from_state": _changed(State, from_state, state),
        "title": short_title(title) if settings.TELEGRAM_INCLUDE_TITLE and title else "",
        "actor": scrub(actor)[:64],
        "url": incident_url(reference),
    }


def _changed(choices: type[models.TextChoices], before: str, after: str) -> str:
    return label(choices, before) if before and before != after else ""


def alert_buttons(
    *, language: str, reference: str, acknowledge: bool, transitions: Sequence[str] = ()
) -> dict[str, Any] | None:
    """Acknowledge and Open in one row; below, a button for each transition the recipient may
    run with one tap (``run:<name>:<reference>``, at most 64 bytes as Telegram requires), in
    the pages' words for it (``incidents.labels.TRANSITION_LABELS``)."""
    with translation.override(language):
        row: list[dict[str, str]] = []
        if acknowledge:
            row.append({"text": gettext("Acknowledge"), "callback_data": f"ack:{reference}"})
        url = incident_url(reference)
        if url_button_allowed(url):
            row.append({"text": pgettext("the incident's page", "Open"), "url": url})
        steps = [
            {
                "text": str(TRANSITION_LABELS.get(name, name)),
                "callback_data": f"run:{name}:{reference}",
            }
            for name in transitions
        ]
    keyboard = [r for r in (row, steps) if r]
    return {"inline_keyboard": keyboard} if keyboard else None


def reminder_text(*, language: str, time_zone: str, facts: dict[str, Any]) -> str:
    """A legal-deadline reminder from ``incidents.legal.obligations.reminder_facts``
    (``notifier/reminder.html``; no personal data by construction: step and recipient are
    staff-written, so scrubbed like titles, after the translation the pages show too)."""
    with translation.override(language):
        text = render_to_string(
            "notifier/reminder.html",
            {
                "stage": facts["stage"],
                "reference": facts["reference"],
                "severity": label(Severity, facts["severity"]),
                "step": short_title(_translated(facts["step"])),
                "recipient": short_title(_translated(facts["recipient"])),
                "rule": facts["rule"],
                "due": moment(facts["due_at"], language=language, zone=time_zone),
                "url": incident_url(facts["reference"]),
            },
        )
    return text.strip()[:MAX_TEXT]


def _translated(text: str) -> str:
    # Seeded step names and recipients are catalogue msgids; gettext("") is the header.
    return gettext(text) if text else text
