"""The rows one event makes (issue 22): one per route the recipients give, on its channel, with
the text in the recipient's language: a chat's HTML alert and buttons (Telegram and Bale alike),
an email's subject and plain text, or the event's own message (a status update, a task).

Called by ``notifier.outbox.derive_deliveries`` inside its transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import DatabaseError

from core.roles import roles_of
from incidents.acknowledgements import ACKNOWLEDGED
from incidents.choices import OPEN_STATES
from incidents.lifecycle import ready_transitions
from incidents.models import Event
from incidents.workspace.tasks import TASK_EVENTS
from incidents.workspace.updates import STATUS_UPDATE
from notifier.messages import alert_buttons, alert_email, alert_text
from notifier.models import EMAIL, TELEGRAM, Delivery
from notifier.recipients import Context, Reach, recipients
from notifier.status_updates import status_update_message
from notifier.task_alerts import task_alert_message

log = logging.getLogger(__name__)


def event_key(seq: int, channel: str, recipient: int) -> str:
    """A Telegram alert keeps its key from before channels existed (rows in the outbox)."""
    if channel == TELEGRAM:
        return f"event:{seq}:{recipient}"
    return f"event:{seq}:{channel}:{recipient}"


def rows_for(event: Event, found: Reach, context: Context, now: dt.datetime) -> list[Delivery]:
    incident = event.incident
    # The steps a recipient may take depend on the incident and their roles only (the lifecycle's
    # permissions are role checks), and reading the guards costs queries: once per role set.
    steps: dict[frozenset[str], list[str]] = {}

    def steps_for(user: Any) -> list[str]:
        roles = roles_of(user)
        if roles not in steps:
            steps[roles] = ready_transitions(incident, user)
        return steps[roles]

    def chat_alert(language: str, user: Any) -> tuple[str, dict[str, Any]]:
        text = alert_text(language=language, **_facts(event))
        buttons = alert_buttons(
            language=language,
            reference=incident.reference,
            acknowledge=event.kind not in (ACKNOWLEDGED,) and incident.state in OPEN_STATES,
            # Next steps only while the event's state is the incident's: once it moved on, an
            # alert offers none (a press would only hear the refusal).
            transitions=steps_for(user) if event.to_state == incident.state else (),
        )
        return text, buttons

    def message(channel: str, language: str, user: Any) -> dict[str, Any]:
        """One recipient's message: an email's subject and plain text (the address is read at
        send time), else a chat's text and buttons, or the event's own message (a status
        update, a task) rather than an alert about a change."""
        if channel == EMAIL:
            subject, text = alert_email(language=language, **_facts(event))
            return {"subject": subject, "text": text}
        own = _OWN_MESSAGES.get(event.kind)
        if own is not None:
            text, markup = own(language=language, event=event, user=user)
        else:
            text, markup = chat_alert(language, user)
        return {"text": text, "reply_markup": markup}

    rows = []
    for route in recipients(event, found, context, now=now):
        language = found.language(route.user)
        recipient = route.user_id if route.chat_id is None else route.chat_id
        row = Delivery(
            key=event_key(event.seq, route.channel, recipient),
            channel=route.channel,
            kind=event.kind,
            event=event,
            incident=incident,
            user=route.user,
            chat_id=route.chat_id,
        )
        rows.append(_filled(row, partial(message, route.channel, language, route.user)))
    return rows


def _facts(event: Event) -> dict[str, Any]:
    """What an alert about this event says (``notifier.messages.alert_context``)."""
    incident = event.incident
    return {
        "kind": event.kind,
        "reference": incident.reference,
        "severity": incident.severity,
        "state": event.to_state or incident.state,
        "title": incident.title,
        "actor": event.actor_username,
        "from_state": event.from_state,
        # what an edit changed the severity from (edits alert only for a new severity)
        "from_severity": (event.data.get("changes") or {}).get("severity", {}).get("from", ""),
        "decision_stale": event.data.get("notification") == "stale",
    }


# Events whose message is their own (issue 20): the status update itself; a task assigned to
# the recipient.
_OWN_MESSAGES: dict[str, Callable[..., tuple[str, Any]]] = {
    STATUS_UPDATE: status_update_message,
    **{kind: task_alert_message for kind in TASK_EVENTS},
}


def _filled(row: Delivery, build: Callable[[], dict[str, Any]]) -> Delivery:
    """``row`` with the fields ``build`` returns; dead-lettered when the message cannot be
    built (a broken database is raised: the transaction must be retried)."""
    try:
        for name, value in build().items():
            setattr(row, name, value)
    except DatabaseError:
        raise
    except Exception as exc:
        log.exception("delivery %s could not be built; dead-lettered", row.key)
        unbuildable(row, exc)
    return row


def unbuildable(row: Delivery, exc: Exception) -> Delivery:
    """Turn a delivery whose message could not be built into a dead letter: it is kept, with
    the reason, for the admin's dead-letter list, but never claimed or sent."""
    row.status, row.text, row.reply_markup = Delivery.DEAD, "", None
    row.last_error = _build_error(exc)
    return row


def _build_error(exc: Exception) -> str:
    return f"could not build the message: {exc!r}"[:2000]
