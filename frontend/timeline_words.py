"""The incident page's timeline in words: what changed, not only the kind of change
("Deadline 'GDPR-33: Notify the authority' fulfilled", "attack vector: Phishing →
Misconfiguration", "Task 'Preserve logs' done"). The particulars come from the dossier's own
words (incidents/legal/dossier_timeline.py), so the page and the document say the same; this
adds the subject to the headline and what a field was before and after.

Event data is read defensively: old events, and kinds added later, may lack a key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.formats import digits, list_separator, moment
from incidents.choices import AttackVector, DataCategory, Severity
from incidents.labels import EVENT_LABELS, FIELD_LABELS, label
from incidents.legal.dossier_timeline import (
    TASK,
    UPDATE,
    Detail,
    Names,
    details,
    excerpt,
)
from incidents.models import Incident

# Fields whose stored values are machine names: shown by their label.
CHOICES = {"severity": Severity, "attack_vector": AttackVector, "data_categories": DataCategory}
MOMENTS = {"detected_at", "aware_at", "due_at", "next_update_at", "submitted_at"}
# Kinds whose headline names their subject: the subject's key in the event's data.
SUBJECTS = {"task.": "task", "follow_up.": "follow_up"}
# Headlines of the task kinds: the task is the subject of the sentence ("Task X done").
TASK_WORDS = {
    "task.added": gettext_noop("Task '%(name)s' added"),
    "task.done": gettext_noop("Task '%(name)s' done"),
    "task.reopened": gettext_noop("Task '%(name)s' reopened"),
    "task.updated": gettext_noop("Task '%(name)s' edited"),
    "task.deleted": gettext_noop("Task '%(name)s' removed"),
}


@dataclass
class Words:
    headline: str
    details: list[Detail] = field(default_factory=list)


def names_of(incident: Incident, events: list[Any]) -> Names:
    """What ``events`` cite by id (evidence, obligations, runbook steps), by name in the active
    language: three queries for the page."""
    return Names.of(incident.evidence.all(), incident.obligations.select_related("rule"), events)


def worded(incident: Incident, events: Iterable[Any]) -> list[Any]:
    """``incident``'s ``events``, each with ``words`` for partials/event_item.html."""
    shown = list(events)
    names = names_of(incident, shown)
    for event in shown:
        event.words = words(event, names)
    return shown


def words(event: Any, names: Names) -> Words:
    data = event.data if isinstance(event.data, dict) else {}
    # The headline names the task, and the page shows an update whole below: not twice.
    said = {str(TASK), str(UPDATE)}
    found = [d for d in details(event.kind, data, names) if d[0] not in said]
    changes = data.get("changes")
    if event.kind == "updated" and isinstance(changes, dict):
        changed = _("Changed")
        found = [d for d in found if d[0] != changed] + list(_moves(changes))
    return Words(headline=_headline(event.kind, data, names), details=found)


def _headline(kind: str, data: dict[str, Any], names: Names) -> str:
    said = str(EVENT_LABELS.get(kind, kind))
    obligation = data.get("obligation")
    if kind.startswith("obligation.") and isinstance(obligation, dict):
        name = names.obligations.get(obligation.get("id")) or obligation.get("rule")
        if name:
            return _named(_("%(what)s: '%(name)s'"), str(name), what=said)
    if kind in TASK_WORDS:
        return _named(_(TASK_WORDS[kind]), names.task(data.get("task")) or "—")
    for prefix, key in SUBJECTS.items():
        subject = _subject(data, key)
        if kind.startswith(prefix) and subject:
            return _named(_("%(what)s: '%(name)s'"), subject, what=said)
    return said


def _named(sentence: str, name: str, **words: str) -> SafeString:
    """The translated sentence with the name (someone's own text, often Latin in a Persian
    sentence) in a <bdi>, so the words around it are not reordered."""
    values = {key: escape(value) for key, value in words.items()}
    return mark_safe(escape(sentence) % {**values, "name": format_html("<bdi>{}</bdi>", name)})


def _subject(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return str(value.get("title") or "") if isinstance(value, dict) else ""


def _moves(changes: dict[str, Any]) -> list[Detail]:
    """Each changed field by its label, as before → after ("—" for nothing)."""
    order = {name: at for at, name in enumerate(FIELD_LABELS)}
    moved = []
    for name in sorted(changes, key=lambda n: (order.get(n, len(order)), n)):
        change = changes[name]
        if isinstance(change, dict) and ("from" in change or "to" in change):
            value = f"{_value(name, change.get('from'))} → {_value(name, change.get('to'))}"
        else:
            value = _value(name, change)
        moved.append((str(FIELD_LABELS.get(name, name)), value))
    return moved


def _value(name: str, value: Any) -> str:
    if value in (None, "", []):
        return "—"
    if isinstance(value, list):
        return list_separator().join(_value(name, v) for v in value)
    if isinstance(value, dict):  # a system {"name", "hosting"}, a person {"username"}
        return str(value.get("name") or value.get("username") or "…")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if name in CHOICES and isinstance(value, str):
        return label(CHOICES[name], value)
    if name in MOMENTS and isinstance(value, str):
        parsed = parse_datetime(value)
        return moment(parsed) if isinstance(parsed, dt.datetime) else value
    if isinstance(value, str):
        return excerpt(value)
    return digits(value)
