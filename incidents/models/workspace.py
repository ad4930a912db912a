"""The workspace responders run an incident in (issue 20): runbook templates and the tasks they
add, stakeholder status updates on a cadence, and the post-incident review with its follow-up
actions. Each is changed only through its domain module (incidents/workspace/), every change an
event on the incident's timeline."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from incidents.choices import AttackVector, Severity, State
from incidents.models.incident import Incident

TASK_TITLE_MAX_LENGTH = 200
WORKSPACE_TEXT_MAX_LENGTH = 20000

# The phases a runbook step can belong to: entering one adds its steps to the incident.
RUNBOOK_PHASES = [
    (State.SCOPING, State.SCOPING.label),
    (State.RESTORING, State.RESTORING.label),
]

# A task as the API, the events and the dossier show it.
TASK_RECORD = (
    "id",
    "title",
    "phase",
    "required",
    "confirms",
    "assignee",
    "due_at",
    "done",
    "done_by",
    "done_at",
    "note",
)


class RunbookStep(models.Model):
    """One step of a runbook: added as a task to every incident that enters ``phase`` with this
    ``attack_vector`` (blank: every incident). Admins edit them; the seed has one runbook per
    vector in Persian and English."""

    attack_vector = models.CharField(
        _("attack vector"),
        max_length=32,
        choices=AttackVector.choices,
        blank=True,
        help_text=_("Blank: every incident."),
    )
    phase = models.CharField(_("phase"), max_length=16, choices=RUNBOOK_PHASES)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    title_en = models.CharField(_("title (English)"), max_length=TASK_TITLE_MAX_LENGTH)
    title_fa = models.CharField(_("title (Persian)"), max_length=TASK_TITLE_MAX_LENGTH)
    required = models.BooleanField(
        _("required"), default=False, help_text=_("Open, it holds back the phase's end.")
    )
    confirms = models.BooleanField(
        _("second engineer"),
        default=False,
        help_text=_("Done only by someone who did none of the phase's other tasks."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("runbook step")
        verbose_name_plural = _("runbook steps")
        ordering = ["phase", "attack_vector", "position", "id"]

    def __str__(self) -> str:
        return self.title()

    def title(self, language: str | None = None) -> str:
        """The title in ``language`` (default: the active one), Persian or English."""
        language = language or get_language() or "en"
        return self.title_fa if language.startswith("fa") else self.title_en


class ToDo(models.Model):
    """What a task and a follow-up action share: a title, a due time, a note, and who did it
    when (open while ``done_at`` is empty)."""

    title = models.CharField(_("title"), max_length=TASK_TITLE_MAX_LENGTH)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True, max_length=WORKSPACE_TEXT_MAX_LENGTH)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.title

    @property
    def done(self) -> bool:
        return self.done_at is not None


class ToDoQuerySet(models.QuerySet):
    def open(self) -> ToDoQuerySet:
        return self.filter(done_at__isnull=True)


class TaskQuerySet(ToDoQuerySet):
    def required_open(self) -> TaskQuerySet:
        return self.open().filter(required=True)


class Task(ToDo):
    """A task of one incident: from a runbook step (``step``) or written by a responder."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="tasks")
    step = models.ForeignKey(
        RunbookStep, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    phase = models.CharField(_("phase"), max_length=16, choices=State.choices)
    required = models.BooleanField(_("required"), default=False)
    confirms = models.BooleanField(_("second engineer"), default=False)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assignee"),
    )

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["id"]
        constraints = [
            # A runbook step is added to an incident once, however often its phase is entered.
            models.UniqueConstraint(
                fields=["incident", "step"],
                condition=models.Q(step__isnull=False),
                name="task_one_per_runbook_step",
            )
        ]
        indexes = [models.Index(fields=["assignee", "done_at"], name="task_assignee_open")]


class UpdateCadence(models.Model):
    """How often the commander owes stakeholders a status update at a severity (admin-edited;
    seeded critical 30 min, high 2 h, medium 1 day). A severity without a row has no cadence."""

    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices, unique=True)
    minutes = models.PositiveIntegerField(_("minutes between updates"))

    class Meta:
        verbose_name = _("status-update cadence")
        verbose_name_plural = _("status-update cadences")
        ordering = ["minutes"]

    def __str__(self) -> str:
        return f"{self.get_severity_display()}: {self.minutes} min"


class StatusUpdate(models.Model):
    """A stakeholder update (what we know, impact, what we are doing, next update by), also
    recorded as a ``status_update`` event."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="status_updates")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("update"), max_length=WORKSPACE_TEXT_MAX_LENGTH)
    next_update_at = models.DateTimeField(_("next update by"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("status update")
        verbose_name_plural = _("status updates")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["incident", "-created_at"], name="status_update_latest")]

    def __str__(self) -> str:
        return f"{self.incident_id} @ {self.created_at:%Y-%m-%d %H:%M}"


class UpdateReminder(models.Model):
    """A reminder that the commander's next update is due, handed to the notifier once per due
    moment (unique), like ObligationReminder."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "due_at"], name="update_reminder_once")
        ]

    def __str__(self) -> str:
        return f"update reminder for {self.incident_id} due {self.due_at:%Y-%m-%d %H:%M}"


class Review(models.Model):
    """The post-incident review of one incident, written after it is restored."""

    incident = models.OneToOneField(Incident, on_delete=models.PROTECT, related_name="review")
    root_cause = models.TextField(_("root cause"), blank=True, max_length=WORKSPACE_TEXT_MAX_LENGTH)
    went_well = models.TextField(
        _("what went well"), blank=True, max_length=WORKSPACE_TEXT_MAX_LENGTH
    )
    went_badly = models.TextField(
        _("what did not go well"), blank=True, max_length=WORKSPACE_TEXT_MAX_LENGTH
    )
    finished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("post-incident review")
        verbose_name_plural = _("post-incident reviews")

    def __str__(self) -> str:
        return f"review of {self.incident_id}"

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class FollowUpQuerySet(ToDoQuerySet):
    def overdue(self, now: dt.datetime) -> FollowUpQuerySet:
        """``FollowUp.is_overdue`` as a query."""
        return self.open().filter(due_at__lt=now)


class FollowUp(ToDo):
    """A follow-up action from the review, tracked to done after the incident closes."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="follow_ups")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("owner"),
    )

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        verbose_name = _("follow-up action")
        verbose_name_plural = _("follow-up actions")
        ordering = ["id"]
        indexes = [models.Index(fields=["done_at", "due_at"], name="follow_up_overdue")]

    def is_overdue(self, now: dt.datetime) -> bool:
        """Open and past its due time (``FollowUpQuerySet.overdue`` in a query)."""
        return not self.done and self.due_at is not None and self.due_at < now
