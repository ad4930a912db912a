"""The dossier's timeline in words: each event of the log as a row a reader takes in without
knowing the machine's names ("obligation.fulfil" reads "Obligation fulfilled", a state move
"Restoring → Restored", a changed field by its label, proof by its file name). Call inside
``translation.override``: the words are the active language's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.formats import digits, list_separator
from incidents.choices import Authority, Severity, State
from incidents.labels import EVENT_LABELS, FIELD_LABELS, label
from incidents.models import Evidence, Exemption, Obligation, Outcome, RunbookStep
from incidents.workspace.updates import STATUS_UPDATE

# Labels of the workspace's details: the page's timeline leaves out what its headline or its
# own paragraph already says (frontend/timeline_words.py).
TASK = gettext_lazy("Task")
UPDATE = gettext_lazy("Status update")
# The keys of an event's data naming tasks: those a change added or removed, or the one task.
RUNBOOK_MOVES = ("tasks_added", "tasks_removed")
TASK_KEYS = ("task", *RUNBOOK_MOVES)


Detail = tuple[str, str]  # (label in words, value: a name, a number, or someone's own text)


@dataclass
class TimelineRow:
    seq: int
    at: dt.datetime
    who: str
    what: str
    move: str = ""
    details: list[Detail] = field(default_factory=list)
    new_day: bool = False  # the first entry of its day (in the document's zone): a day heading


@dataclass
class Names:
    """What events cite by id, by name: evidence by file name, obligations by rule and step,
    runbook steps by their title in the active language."""

    evidence: dict[int, str]
    obligations: dict[int, str]
    steps: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        evidence: Iterable[Evidence],
        obligations: Iterable[Obligation],
        events: Iterable[Any] = (),
    ) -> Names:
        """Call with the reader's language active; ``events`` (a list: it is read twice) are
        those to be shown, whose runbook tasks are named in that language (one query)."""
        steps_named = (task.get("step") for event in events for task in _tasks_of(event.data))
        wanted = {pk for pk in steps_named if isinstance(pk, int)}
        steps = RunbookStep.objects.filter(pk__in=wanted) if wanted else ()
        return cls(
            evidence={e.pk: e.original_name for e in evidence},
            obligations={o.pk: f"{o.rule.code}: {_(o.step_name)}" for o in obligations},
            steps={step.pk: step.title() for step in steps},
        )

    def task(self, described: Any) -> str:
        """A task as an event describes it (``{"id", "title", "step"?}``), by the title people
        read: a runbook task's in the active language, not the English one the event stores."""
        if not isinstance(described, dict):
            return ""
        return self.steps.get(described.get("step")) or str(described.get("title") or "")


def _tasks_of(data: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(data, dict):
        return
    for key in TASK_KEYS:
        value = data.get(key)
        for task in value if isinstance(value, list) else [value]:
            if isinstance(task, dict):
                yield task


def timeline(events: Iterable[Any], names: Names) -> Iterator[TimelineRow]:
    """Rows in the record's order. Call with the document's zone active: days are its days."""
    day = None
    for event in events:
        move = ""
        if event.to_state:
            move = label(State, event.to_state)
            if event.from_state:
                move = f"{label(State, event.from_state)} → {move}"
        yield TimelineRow(
            seq=event.seq,
            at=event.created_at,
            who=event.actor_username or "—",
            what=str(EVENT_LABELS.get(event.kind, event.kind)),
            move=move,
            details=list(details(event.kind, event.data or {}, names)),
            new_day=day != (day := timezone.localdate(event.created_at)),
        )


def details(kind: str, data: dict[str, Any], names: Names) -> Iterator[Detail]:
    """The event's particulars worth reading; never a person of the register (events hold
    none)."""
    if kind == "created":
        yield _("Title"), str(data.get("title", ""))
        if data.get("severity"):
            yield _("Severity"), label(Severity, data["severity"])
    changes = data.get("changes")
    if isinstance(changes, dict) and changes:
        # In the fields' own order, not the stored one (PostgreSQL's jsonb keeps its keys by
        # length, SQLite as written): the same dossier from either database.
        order = {name: at for at, name in enumerate(FIELD_LABELS)}
        named = sorted(changes, key=lambda name: (order.get(name, len(order)), name))
        fields = list_separator().join(str(FIELD_LABELS.get(name, name)) for name in named)
        yield _("Changed"), fields
    yield from _cited(data, names)
    yield from _alerted(kind, data)
    yield from _workspace(kind, data, names)
    for key in ("reason", "restoration_summary", "outcome", "text", "note"):
        value = data.get(key)
        if isinstance(value, str) and value and not (kind == "notification.decided"):
            # A note is only here: whole. Other texts are whole in their own sections.
            shown = value if kind == "note" else excerpt(value)
            yield str(FIELD_LABELS.get(key, _("Note") if key == "text" else key)), shown
    if kind == "notification.decided":
        yield _("Decision"), label(Outcome, data.get("outcome", ""))
        if data.get("exemption"):
            yield _("Exemption"), label(Exemption, data["exemption"])
        if data.get("reason"):
            yield str(FIELD_LABELS["reason"]), data["reason"]
    obligations = data.get("obligations")
    if isinstance(obligations, dict):
        added, moved = len(obligations.get("created", [])), len(obligations.get("moved", []))
        if added or moved:
            counts = {"added": digits(added), "moved": digits(moved)}
            yield _("Legal deadlines"), _("%(added)s added, %(moved)s moved") % counts


def _workspace(kind: str, data: dict[str, Any], names: Names) -> Iterator[Detail]:
    """A task by its title in the reader's language; the runbook tasks a phase or an attack
    vector brought or took ("3 runbook tasks added: …"); a status update whole (it is nowhere
    else in the dossier)."""
    if kind.startswith("task.") and (title := names.task(data.get("task"))):
        yield str(TASK), title
    for key in RUNBOOK_MOVES:
        tasks = [names.task(t) for t in data.get(key) or [] if isinstance(t, dict)]
        if tasks:
            yield _("Runbook"), _runbook_moved(key, tasks)
    if kind == STATUS_UPDATE and isinstance(data.get("body"), str) and data["body"]:
        yield str(UPDATE), data["body"]


def _alerted(kind: str, data: dict[str, Any]) -> Iterator[Detail]:
    """Monitoring's part (incidents/integrations.py): which integration logged the incident or
    sent the alert, the alert's name, how many repeats a note stands for."""
    source = data.get("source") if kind == "created" else data
    if not isinstance(source, dict) or not isinstance(source.get("integration"), dict):
        return
    yield _("Integration"), str(source["integration"].get("name") or "—")
    if source.get("alert"):
        yield _("Alert"), str(source["alert"])
    repeats = data.get("repeats")
    if kind.startswith("alert.") and isinstance(repeats, int) and repeats:
        yield _("Repeats"), digits(repeats)


def _runbook_moved(key: str, tasks: list[str]) -> str:
    values = {"count": digits(len(tasks)), "titles": list_separator().join(tasks)}
    if key == "tasks_added":
        sentence = ngettext(
            "%(count)s runbook task added: %(titles)s",
            "%(count)s runbook tasks added: %(titles)s",
            len(tasks),
        )
    else:
        sentence = ngettext(
            "%(count)s runbook task removed: %(titles)s",
            "%(count)s runbook tasks removed: %(titles)s",
            len(tasks),
        )
    return sentence % values


EXCERPT = 600


def excerpt(text: str) -> str:
    """The start of a long text the dossier gives whole in its own section (a restoration
    summary, an outcome, an obligation's note): a timeline of long texts given twice read badly
    and took twice as long to lay out."""
    return text if len(text) <= EXCERPT else text[:EXCERPT].rstrip() + " …"


def _cited(data: dict[str, Any], names: Names) -> Iterator[Detail]:
    """Referrals by authority and case number, evidence by file name, obligations by rule and
    step, campaigns by number."""
    authority = data.get("authority") or (data.get("referral") or {}).get("authority")
    if authority:
        named = label(Authority, authority)
        if data.get("authority_name"):
            named = f"{named} — {data['authority_name']}"
        yield _("Authority"), named
    case_number = data.get("case_number") or (data.get("referral") or {}).get("case_number")
    if case_number:
        yield _("Case number"), case_number
    evidence = data.get("evidence")
    if isinstance(evidence, dict):
        yield _("Evidence"), str(evidence.get("name", ""))
    elif isinstance(evidence, list):
        files = [names.evidence.get(pk, f"#{pk}") for pk in evidence]
        yield _("Evidence"), list_separator().join(files)
    obligation = data.get("obligation")
    if isinstance(obligation, dict):
        yield _("Obligation"), names.obligations.get(obligation.get("id"), obligation.get("rule"))
        document = obligation.get("document")
        if document:
            yield _("Proof"), names.evidence.get(document, f"#{document}")
    campaign = data.get("campaign")
    if isinstance(campaign, dict) and campaign.get("id"):
        yield _("Notice campaign"), digits(f"#{campaign['id']}")
    follow_up = data.get("follow_up")
    if isinstance(follow_up, dict) and follow_up.get("title"):
        yield _("Follow-up action"), str(follow_up["title"])
    members = data.get("members")
    if isinstance(members, list) and members:
        yield _("Members"), list_separator().join(map(str, members))
