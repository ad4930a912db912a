"""What the incident page shows of tasks (incidents/workspace/tasks.py): each task with its
done button, assignee, due time and badges, a form to change it, and the form to add one. Used
by the incident page (frontend/views/workspace.py); a constant number of queries whatever the
number of tasks."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from frontend.task_forms import TaskEditForm, TaskForm, assignable
from incidents.choices import TERMINAL_STATES
from incidents.models import Incident, Task
from incidents.workspace.tasks import may_work_tasks, task_title


def task_row(task: Task, assignees: list[Any] | None) -> dict[str, Any]:
    """One task for the page; ``form`` changes it (absent for readers: ``assignees`` None)."""
    may_work = assignees is not None
    initial = {
        "version": task.version,
        "assignee": task.assignee.get_username() if task.assignee_id else None,
        "due_at": task.due_at,
        "note": task.note,
    }
    return {
        "task": task,
        "title": task_title(task),
        # A runbook's required task is done, never deleted (the domain refuses it too).
        "deletable": may_work and not (task.step_id and task.required),
        "confirm_id": f"confirm-task-{task.pk}",
        "form": TaskEditForm(initial=initial, task_id=task.pk, assignees=assignees)
        if may_work
        else None,
    }


def tasks_part(request: HttpRequest, incident: Incident) -> dict[str, Any]:
    """The section's context; a refused form comes back through the page's ``extra``."""
    may_work = may_work_tasks(request.user, incident) and incident.state not in TERMINAL_STATES
    tasks = incident.tasks.select_related("step", "assignee", "done_by").order_by(
        "done_at", "phase", "id"
    )
    assignees = assignable() if may_work else None
    rows = [task_row(task, assignees) for task in tasks]
    return {
        "task_rows": rows,
        "tasks_open": sum(1 for row in rows if not row["task"].done),
        "may_work_tasks": may_work,
        "task_form": TaskForm(assignees=assignees) if assignees is not None else None,
        "tasks_now": timezone.now(),
    }
