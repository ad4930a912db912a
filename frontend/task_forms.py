"""The incident page's task forms (issue 20 section 1): add a task, and change one's assignee,
due time and note. Marking done and deleting carry only the version the person saw.

Who may be assigned is read once per page (``assignable()``) and handed to every form: the page
holds one form per task, and a query per form would grow with the tasks."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from frontend.forms import Form, MomentField, VersionedForm
from incidents.lifecycle import commander_candidates
from incidents.models.workspace import TASK_TITLE_MAX_LENGTH, WORKSPACE_TEXT_MAX_LENGTH


def assignable() -> list[Any]:
    """The people a task may be assigned to (engineers and admins), by username."""
    return list(commander_candidates().order_by("username"))


class _Assigning:
    """A form whose ``assignee`` is chosen from ``assignees`` by username."""

    def _set_assignees(self, assignees: list[Any]) -> None:
        self._assignees = {user.get_username(): user for user in assignees}
        choices = [("", _("Nobody yet"))] + [(name, name) for name in self._assignees]
        self.fields["assignee"].choices = choices

    def clean_assignee(self) -> Any:
        return self._assignees.get(self.cleaned_data.get("assignee") or "")


class TaskForm(_Assigning, Form):
    """A responder's own task, in the incident's current phase."""

    prefix = "task"

    title = forms.CharField(label=_("Task"), max_length=TASK_TITLE_MAX_LENGTH)
    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    due_at = MomentField(label=_("Due"), required=False)
    required = forms.BooleanField(
        label=_("Required: the phase cannot end while it is open"), required=False
    )

    def __init__(self, *args: Any, assignees: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_assignees(assignees)


class TaskEditForm(_Assigning, VersionedForm):
    """One task's assignee, due time and note; ids and names prefixed by the task's id, as
    the page holds one per task."""

    assignee = forms.ChoiceField(label=_("Assignee"), required=False)
    due_at = MomentField(label=_("Due"), required=False)
    note = forms.CharField(
        label=_("Note"),
        max_length=WORKSPACE_TEXT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, task_id: int, assignees: list[Any], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"task{task_id}")
        super().__init__(*args, **kwargs)
        self._set_assignees(assignees)


class TaskDoneForm(VersionedForm):
    done = forms.BooleanField(required=False, widget=forms.HiddenInput)
