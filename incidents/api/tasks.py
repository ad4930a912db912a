"""Task endpoints (issue 20; docs/workspace.md): an incident's tasks, adding one, changing one
(``{"done": true}`` marks it done), deleting one. Thin views (STYLE.md rule 7); refusals through
the one exception handler."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.api.legal_referrals import incident_for
from incidents.api.serializers import MomentField, StrictInputMixin
from incidents.api.views import expected_version
from incidents.lifecycle import commander_candidates
from incidents.models import TASK_RECORD, Task
from incidents.models.workspace import TASK_TITLE_MAX_LENGTH, WORKSPACE_TEXT_MAX_LENGTH
from incidents.workspace.tasks import (
    add_task,
    delete_task,
    ensure_may_work_tasks,
    task_title,
    update_task,
)


class TaskSerializer(serializers.ModelSerializer):
    """A task as people read it: a runbook task's title in the request's language."""

    title = serializers.SerializerMethodField()
    assignee = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    done_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    done = serializers.BooleanField(read_only=True)
    runbook = serializers.SerializerMethodField(help_text="Added by a runbook step.")

    class Meta:
        model = Task
        fields = (*TASK_RECORD, "runbook", "version")
        read_only_fields = fields

    def get_title(self, task: Task) -> str:
        return task_title(task)

    def get_runbook(self, task: Task) -> bool:
        return task.step_id is not None


class TaskWriteSerializer(StrictInputMixin, serializers.Serializer):
    """A new task (``title`` required) or a change of one (any key; ``done`` only then)."""

    read_only_names = ("id", "phase", "confirms", "done_by", "done_at", "runbook", "version")

    title = serializers.CharField(max_length=TASK_TITLE_MAX_LENGTH)
    assignee = serializers.SlugRelatedField(
        slug_field="username", queryset=commander_candidates(), allow_null=True, required=False
    )
    due_at = MomentField(allow_null=True, required=False)
    note = serializers.CharField(
        max_length=WORKSPACE_TEXT_MAX_LENGTH, allow_blank=True, required=False
    )
    required = serializers.BooleanField(required=False)
    done = serializers.BooleanField(required=False, help_text="Change only: mark done or open.")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if not self.partial and "done" in data:
            raise serializers.ValidationError({"done": [_("A new task starts open.")]})
        return data


def _rows(request: Request, reference: str) -> Any:
    incident = incident_for(request, reference)
    return incident, incident.tasks.select_related("step", "assignee", "done_by")


def _answer(task: Task, code: int = status.HTTP_200_OK) -> Response:
    return Response(TaskSerializer(task).data, status=code, headers={"ETag": f'"{task.version}"'})


class IncidentTasksView(APIView):
    @extend_schema(responses={200: TaskSerializer(many=True)})
    def get(self, request: Request, reference: str) -> Response:
        _incident, tasks = _rows(request, reference)
        return Response(TaskSerializer(tasks, many=True).data)

    @extend_schema(request=TaskWriteSerializer, responses={201: TaskSerializer})
    def post(self, request: Request, reference: str) -> Response:
        incident = incident_for(request, reference)
        ensure_may_work_tasks(request.user, incident)  # 403 before any complaint about the body
        data = TaskWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task, _event = add_task(incident, actor=request.user, data=data.validated_data)
        return _answer(task, status.HTTP_201_CREATED)


class TaskView(APIView):
    def _task(self, request: Request, reference: str, pk: int) -> Task:
        incident, tasks = _rows(request, reference)
        ensure_may_work_tasks(request.user, incident)  # 403 before 400
        return get_object_or_404(tasks, pk=pk)

    @extend_schema(request=TaskWriteSerializer, responses={200: TaskSerializer})
    def patch(self, request: Request, reference: str, pk: int) -> Response:
        task = self._task(request, reference, pk)
        data = TaskWriteSerializer(task, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        task, _event = update_task(
            task,
            actor=request.user,
            changes=data.validated_data,
            expected_version=expected_version(request),
        )
        task = Task.objects.select_related("step", "assignee", "done_by").get(pk=task.pk)
        return _answer(task)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, reference: str, pk: int) -> Response:
        task = self._task(request, reference, pk)
        delete_task(task, actor=request.user, expected_version=expected_version(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
