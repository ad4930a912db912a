"""Tasks over Telegram (issue 20, section 1; incidents/workspace/tasks.py): a task assigned to
someone is an alert to them, and ``/tasks`` lists their open ones.

The alert is an outbox row like every other: the ``task.added`` / ``task.updated`` event that
names a new assignee (``assigned_to``) is routed to that person alone by ``notifier.recipients``
and its text built here for ``notifier.outbox``. A task's title is staff-written, so it passes
the one scrubber (``notifier.privacy``) like an incident's title.
"""

from __future__ import annotations

import html
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext

from core.formats import moment
from core.models import Profile
from incidents.choices import OPEN_STATES, Severity
from incidents.labels import label
from incidents.models import Event, Incident, Task
from incidents.workspace.tasks import ASSIGNED, TASK_EVENTS, task_title
from notifier.messages import MAX_TEXT, alert_buttons, incident_url, short_title
from notifier.privacy import scrub

MY_TASKS_LIMIT = 20


def assigned_to(event: Event) -> str | None:
    """The username a task event assigns a task to, or None (not a task event, or no new
    assignee)."""
    return event.data.get(ASSIGNED) if event.kind in TASK_EVENTS else None


def task_alert_message(
    *, language: str, event: Event, user: Any
) -> tuple[str, dict[str, Any] | None]:
    """The alert to ``user`` that the event's task is now theirs (``notifier/task_assigned.html``,
    HTML parse mode), with the Open button."""
    incident = event.incident
    described = event.data.get("task") or {}
    task = Task.objects.select_related("step").filter(pk=described.get("id")).first()
    zone = Profile.for_user(user).effective_time_zone()
    with translation.override(language):
        title = task_title(task, language) if task else described.get("title", "")
        due = task.due_at if task else None
        text = render_to_string(
            "notifier/task_assigned.html",
            {
                "reference": incident.reference,
                "severity": label(Severity, incident.severity),
                "title": short_title(title),
                "due": moment(due, language=language, zone=zone) if due else "",
                "actor": scrub(event.actor_username)[:64],
                "url": incident_url(incident.reference),
            },
        )
    buttons = alert_buttons(language=language, reference=incident.reference, acknowledge=False)
    return text.strip()[:MAX_TEXT], buttons


def my_tasks_text(user: Any) -> str:
    """``/tasks``: the user's open tasks on open incidents they may read, soonest due first;
    HTML, in the active language."""
    visible = Incident.objects.visible_to(user).filter(state__in=OPEN_STATES)
    tasks = (
        Task.objects.open()
        .filter(assignee=user, incident__in=visible)
        .select_related("step", "incident")
        .order_by("due_at", "id")[:MY_TASKS_LIMIT]
    )
    language = translation.get_language() or settings.LANGUAGE_CODE
    zone = Profile.for_user(user).effective_time_zone()
    lines = [_line(task, language, zone) for task in tasks]
    return "\n".join(lines) if lines else html.escape(gettext("No open tasks are assigned to you."))


def _line(task: Task, language: str, zone: str) -> str:
    line = f"<b>{task.incident.reference}</b> · {html.escape(short_title(task_title(task)))}"
    if task.due_at:
        when = moment(task.due_at, language=language, zone=zone)
        due = gettext("due %(moment)s") % {"moment": when}
        line += f" · {html.escape(due)}"
    return line
