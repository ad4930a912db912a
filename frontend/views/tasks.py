"""Tasks on the incident page (issue 20 section 1): add one, mark one done or open again,
change its assignee, due time and note, delete one. Each write calls one domain function
(incidents/workspace/tasks.py); a refused form comes back on the page with what was typed kept,
never a 500."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from frontend.task_forms import TaskDoneForm, TaskEditForm, TaskForm, assignable
from frontend.views.common import error_page, form_target, role_required, to_section
from frontend.views.task_parts import tasks_part
from frontend.views.workspace import form_refused, incident_for, refused
from incidents.errors import DomainError, InvalidChange
from incidents.models import Incident, Task
from incidents.workspace.tasks import (
    add_task,
    delete_task,
    ensure_may_work_tasks,
    set_task_done,
    update_task,
)


def _to_section(incident: Incident, task_id: int | None = None) -> HttpResponse:
    return to_section(incident, f"task-{task_id}" if task_id else "tasks")


def _refused_role(request: HttpRequest, incident: Incident) -> HttpResponse | None:
    """The domain's own 403 page when the person may not change tasks, else None."""
    try:
        ensure_may_work_tasks(request.user, incident)
    except DomainError as refusal:
        return error_page(request, refusal.status, refusal.detail)
    return None


def _task(incident: Incident, pk: int) -> Task:
    return get_object_or_404(incident.tasks.select_related("step", "assignee"), pk=pk)


@form_target("frontend:incident")
@role_required
def task_add(request: HttpRequest, reference: str) -> HttpResponse:
    incident = incident_for(request, reference)
    if denied := _refused_role(request, incident):
        return denied
    form = TaskForm(request.POST, assignees=assignable())
    if not form.is_valid():
        return form_refused(request, incident, form, None, task_form=form)
    try:
        task, _event = add_task(incident, actor=request.user, data=form.cleaned_data)
    except DomainError as error:  # a blank title, an assignee who may not read, closed
        return form_refused(request, incident, form, error, task_form=form)
    return _to_section(incident, task.pk)


@form_target("frontend:incident")
@role_required
def task_done(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    """The task's done button: ``done`` 1 marks it done, 0 opens it again."""
    incident = incident_for(request, reference)
    if denied := _refused_role(request, incident):
        return denied
    task = _task(incident, pk)
    form = TaskDoneForm(request.POST)
    if not form.is_valid():
        # Only a hand-made POST lacks the page's hidden fields.
        return refused(request, incident, InvalidChange({"version": [_("Reload the page.")]}))
    try:
        set_task_done(
            task,
            actor=request.user,
            done=form.cleaned_data["done"],
            expected_version=form.cleaned_data["version"],
        )
    except DomainError as error:  # the second engineer's rule, a stale page, a closed incident
        return refused(request, incident, error)
    return _to_section(incident, task.pk)


@form_target("frontend:incident")
@role_required
def task_edit(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    incident = incident_for(request, reference)
    if denied := _refused_role(request, incident):
        return denied
    task = _task(incident, pk)
    form = TaskEditForm(request.POST, task_id=task.pk, assignees=assignable())
    if not form.is_valid():
        rows = _rows_with(incident, request, form)
        return form_refused(request, incident, form, None, task_rows=rows)
    changes = {k: v for k, v in form.cleaned_data.items() if k != "version"}
    try:
        update_task(
            task, actor=request.user, changes=changes, expected_version=form.cleaned_data["version"]
        )
    except DomainError as error:
        rows = _rows_with(incident, request, form)
        return form_refused(request, incident, form, error, task_rows=rows)
    return _to_section(incident, task.pk)


def _rows_with(incident: Incident, request: HttpRequest, form: TaskEditForm) -> list:
    """The page's task rows with ``form`` (refused) in its task's place, so the page shows it
    again where it was."""
    rows = tasks_part(request, incident)["task_rows"]
    for row in rows:
        if form.prefix == f"task{row['task'].pk}":
            row["form"] = form
    return rows


@form_target("frontend:incident")
@role_required
def task_delete(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    incident = incident_for(request, reference)
    if denied := _refused_role(request, incident):
        return denied
    task = _task(incident, pk)
    form = TaskDoneForm(request.POST)  # carries only the version
    version = form.cleaned_data["version"] if form.is_valid() else None
    try:
        delete_task(task, actor=request.user, expected_version=version)
    except DomainError as error:
        return refused(request, incident, error)
    return _to_section(incident)
