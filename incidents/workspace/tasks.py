"""Tasks of an incident: the runbook's, added when a phase is entered or the attack vector is
set, and the responders' own. Every change is one event on the incident's timeline, through
``changing`` (STYLE.md rule 17); the events carry a task's id and title, never personal data.

Required tasks gate the phase's end (``incidents.guards.has_no_open_required_tasks``); a task
that ``confirms`` a fix is done by a second engineer, someone who did none of the phase's other
tasks (``RESTORE_NEEDS_SECOND_ENGINEER``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.roles import ADMIN, ENGINEER, has_any_role
from incidents.changing import changing, record_of, save_changes, snapshot
from incidents.choices import TERMINAL_STATES, State
from incidents.errors import EditNotAllowed, InvalidChange, RoleForbidden
from incidents.events import append_event
from incidents.models import Event, Incident, RunbookStep, Task
from incidents.models.workspace import RUNBOOK_PHASES

# What a responder may change of a task; a runbook task keeps its step's title and weight.
EDITABLE = ("title", "assignee", "due_at", "note", "required", "done")
RUNBOOK_FIXED = ("title", "required")
# The phases an incident in each state has entered, for the runbook of a new attack vector.
PHASES_REACHED = {
    State.SCOPING: (State.SCOPING,),
    State.RESTORING: (State.SCOPING, State.RESTORING),
    State.RESTORED: (State.SCOPING, State.RESTORING),
    State.REFERRED: (State.SCOPING, State.RESTORING),
}
RUNBOOK_PHASE_NAMES = frozenset(phase for phase, _label in RUNBOOK_PHASES)
# The key of a task event naming its new assignee (a username), whom the notifier alerts.
ASSIGNED = "assigned_to"
TASK_EVENTS = frozenset({"task.added", "task.updated"})
# Every kind of event a runbook task writes.
TASK_KINDS = frozenset({*TASK_EVENTS, "task.done", "task.reopened", "task.deleted"})


class TaskNotDeletable(DomainError):
    status = 409

    def __init__(self) -> None:
        super().__init__(_("A runbook's required task cannot be deleted, only done."))


def task_title(task: Task, language: str | None = None) -> str:
    """The title people read: a runbook task's in their language (its step's), else as written.
    Load ``step`` with the task (``select_related``) when listing many."""
    return task.step.title(language) if task.step_id and task.step else task.title


def describe(task: Task) -> dict[str, Any]:
    """A task as its events name it: the id, the stored (for runbook tasks English) title and
    a runbook task's step, by which timelines name it in their reader's language
    (``incidents.legal.dossier_timeline.Names.task``)."""
    described: dict[str, Any] = {"id": task.pk, "title": task.title}
    if task.step_id:
        described["step"] = task.step_id
    return described


def open_required(incident: Incident) -> list[dict[str, Any]]:
    """The open required tasks holding back the incident's next phase, in the active language
    (the 400 of a gated transition lists them)."""
    tasks = incident.tasks.required_open().select_related("step")
    return [{"id": t.pk, "title": task_title(t)} for t in tasks]


def may_work_tasks(user: Any, incident: Incident | None = None) -> bool:
    """Engineers and admins, and the incident's commander; legal and executives read."""
    if has_any_role(user, {ENGINEER, ADMIN}):
        return True
    return incident is not None and incident.commander_id == getattr(user, "pk", None)


def ensure_may_work_tasks(actor: Any, incident: Incident | None = None) -> None:
    """RoleForbidden unless the actor may change tasks (callers may check before parsing)."""
    if not may_work_tasks(actor, incident):
        raise RoleForbidden(_("Only engineers, admins and the commander change tasks."))


def _open_for_tasks(incident: Incident) -> None:
    if incident.state in TERMINAL_STATES:
        raise EditNotAllowed(incident.state)


def _check_assignee(incident: Incident, assignee: Any) -> None:
    """An assignee reads the incident: a restricted one's member, commander or an admin."""
    if assignee is None:
        return
    if not Incident.objects.visible_to(assignee).filter(pk=incident.pk).exists():
        message = _("%(user)s may not read this incident, so cannot be assigned its tasks.")
        raise InvalidChange({"assignee": [message % {"user": assignee.get_username()}]})


def _check_text(data: dict[str, Any]) -> None:
    if "title" in data and not (data["title"] or "").strip():
        raise InvalidChange({"title": [_("A task needs a title.")]})


def add_task(incident: Incident, *, actor: Any, data: dict[str, Any]) -> tuple[Task, Event]:
    """A responder's own task in the incident's current phase. ``data`` is type-checked:
    title, and optionally assignee (a user), due_at, note, required."""
    _check_text({"title": data.get("title", ""), **data})
    with changing(incident) as locked:
        ensure_may_work_tasks(actor, locked)
        _open_for_tasks(locked)
        _check_assignee(locked, data.get("assignee"))
        task = Task.objects.create(
            incident=locked,
            phase=locked.state,
            created_by=actor,
            title=data["title"].strip(),
            assignee=data.get("assignee"),
            due_at=data.get("due_at"),
            note=data.get("note", ""),
            required=bool(data.get("required", False)),
        )
        body = {"task": describe(task), "phase": task.phase, "required": task.required}
        if task.due_at:
            body["due_at"] = task.due_at
        if task.assignee_id:
            body[ASSIGNED] = task.assignee.get_username()
        event = append_event(locked, "task.added", actor=actor, data=body)
    return task, event


def update_task(
    task: Task, *, actor: Any, changes: dict[str, Any], expected_version: int | None = None
) -> tuple[Task, Event | None]:
    """Change a task (EDITABLE keys, type-checked; ``done`` marks it done or open again, with
    who and when). One event: ``task.done`` / ``task.reopened`` when that is all that changed,
    else ``task.updated``; a no-op writes nothing."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidChange({key: [_("Not editable.")] for key in unknown})
    _check_text(changes)
    with changing(task.incident_id) as incident:
        ensure_may_work_tasks(actor, incident)
        _open_for_tasks(incident)
        locked = record_of(incident, Task, task.pk, expected_version)
        before = snapshot(locked)
        diff = _apply(incident, locked, actor, changes)
        if not diff:
            return locked, None
        save_changes(locked, before)
        event = append_event(incident, _kind(diff), actor=actor, data=_event_data(locked, diff))
    return locked, event


def _apply(incident: Incident, task: Task, actor: Any, changes: dict[str, Any]) -> dict:
    """Set what differs on ``task``; the changes as ``{key: {"from", "to"}}``."""
    diff: dict[str, dict[str, Any]] = {}
    for key, new in changes.items():
        if key == "done":
            if bool(new) != task.done:
                _check_second_engineer(task, actor, bool(new))
                diff["done"] = {"from": task.done, "to": bool(new)}
                task.done_at, task.done_by = (timezone.now(), actor) if new else (None, None)
            continue
        if key == "title":
            new = new.strip()
        old = getattr(task, key)
        if old == new:
            continue
        if task.step_id and key in RUNBOOK_FIXED:
            raise InvalidChange({key: [_("A runbook task's title and weight are its step's.")]})
        if key == "assignee":
            _check_assignee(incident, new)
            old, new_value = (u.get_username() if u else None for u in (old, new))
            diff[key] = {"from": old, "to": new_value}
        elif key == "note":
            diff[key] = {}  # a note may quote anything: the event says only that it changed
        else:
            diff[key] = {"from": old, "to": new}
        setattr(task, key, new)
    return diff


def _kind(diff: dict[str, Any]) -> str:
    if set(diff) == {"done"}:
        return "task.done" if diff["done"]["to"] else "task.reopened"
    return "task.updated"


def _event_data(task: Task, diff: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"task": describe(task), "changes": diff}
    assigned = diff.get("assignee", {}).get("to")
    if assigned:  # the notifier alerts the new assignee (notifier/recipients.py)
        data[ASSIGNED] = assigned
    return data


def _check_second_engineer(task: Task, actor: Any, done: bool) -> None:
    """A fix is confirmed by someone who did none of the phase's other done tasks."""
    if not (done and task.confirms and settings.RESTORE_NEEDS_SECOND_ENGINEER):
        return
    others = Task.objects.filter(incident_id=task.incident_id, phase=task.phase).exclude(pk=task.pk)
    if others.filter(done_by_id=actor.pk, done_at__isnull=False).exists():
        message = _(
            "A second engineer confirms this: someone who did none of this phase's other tasks."
        )
        raise InvalidChange({"done": [message]})


def set_task_done(
    task: Task, *, actor: Any, done: bool = True, expected_version: int | None = None
) -> tuple[Task, Event | None]:
    """Mark a task done (or open again): ``update_task`` with ``done`` alone."""
    return update_task(task, actor=actor, changes={"done": done}, expected_version=expected_version)


def delete_task(task: Task, *, actor: Any, expected_version: int | None = None) -> Event:
    """Remove a task; a runbook's required one is done instead (TaskNotDeletable)."""
    with changing(task.incident_id) as incident:
        ensure_may_work_tasks(actor, incident)
        _open_for_tasks(incident)
        locked = record_of(incident, Task, task.pk, expected_version)
        if locked.step_id and locked.required:
            raise TaskNotDeletable()
        data = {"task": describe(locked), "phase": locked.phase}
        locked.delete()
        return append_event(incident, "task.deleted", actor=actor, data=data)


# --- runbooks: called inside the change that entered a phase or set the vector --------------


def add_runbook_tasks(incident: Incident, phases: tuple[str, ...], vector: str) -> list[dict]:
    """Add the runbook's steps for ``phases`` (general and ``vector``'s) that the incident does
    not have yet; their descriptions, for the causing change's event. Precondition: inside
    ``changing(incident)``; idempotent (one task per step and incident)."""
    phases = tuple(p for p in phases if p in RUNBOOK_PHASE_NAMES)
    if not phases:
        return []
    vectors = {"", vector} if vector else {""}
    steps = RunbookStep.objects.filter(active=True, phase__in=phases, attack_vector__in=vectors)
    have = set(incident.tasks.filter(step__isnull=False).values_list("step_id", flat=True))
    added = []
    for step in steps.order_by("phase", "attack_vector", "position", "id"):
        if step.pk in have:
            continue
        task = Task.objects.create(
            incident=incident,
            step=step,
            title=step.title_en,
            phase=step.phase,
            required=step.required,
            confirms=step.confirms,
        )
        added.append(describe(task))
    return added


def runbook_on_transition(incident: Incident) -> dict[str, Any]:
    """The runbook tasks of the phase the incident just entered (a ``Machine.after`` hook):
    ``{"tasks_added": [...]}`` for its event, or nothing."""
    added = add_runbook_tasks(incident, (incident.state,), incident.attack_vector)
    return {"tasks_added": added} if added else {}


def runbook_on_vector_change(incident: Incident, old: str) -> dict[str, Any]:
    """The attack vector changed from ``old``: its runbook tasks still open go, the new one's
    come for every phase the incident has entered. What moved, for the edit's event."""
    data: dict[str, Any] = {}
    if old:
        stale = incident.tasks.open().filter(step__attack_vector=old)
        removed = [describe(t) for t in stale]
        if removed:
            stale.delete()
            data["tasks_removed"] = removed
    phases = PHASES_REACHED.get(incident.state, ())
    added = add_runbook_tasks(incident, phases, incident.attack_vector)
    if added:
        data["tasks_added"] = added
    return data
