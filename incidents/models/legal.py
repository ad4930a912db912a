"""The legal side of an incident: referrals to authorities, the rules that oblige a notification
and the obligations (deadlines) they create, with the reminders sent for them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.roles import LEGAL_TEAM, WRITERS
from incidents.choices import Authority, DataCategory
from incidents.models.incident import Incident, of_visible_incidents

# A referral as the API and the dossier show it (beside its incident and its people).
REFERRAL_RECORD = (
    "id",
    "state",
    "authority",
    "authority_name",
    "case_number",
    "contact",
    "notes",
    "outcome",
    "withdrawn_reason",
    "submitted_at",
    "acknowledged_at",
    "concluded_at",
)


class ReferralQuerySet(models.QuerySet):
    def submitted(self) -> ReferralQuerySet:
        """Referrals that reached an authority (submitted or further, not withdrawn)."""
        return self.filter(state__in=Referral.REACHED_AUTHORITY)

    def first_submitted(self) -> dt.datetime | None:
        """The earliest submission moment recorded (withdrawn referrals included: it happened)."""
        return self.aggregate(first=models.Min("submitted_at"))["first"]


class Referral(FSMModelMixin, models.Model):
    """A referral to an authority: its own record with its own small lifecycle."""

    DRAFT, SUBMITTED, ACKNOWLEDGED, INVESTIGATING, CONCLUDED, WITHDRAWN = (
        "draft",
        "submitted",
        "acknowledged",
        "investigating",
        "concluded",
        "withdrawn",
    )
    STATES = [
        (DRAFT, _("Draft")),
        (SUBMITTED, _("Submitted")),
        (ACKNOWLEDGED, _("Acknowledged")),
        (INVESTIGATING, _("Investigating")),
        (CONCLUDED, _("Concluded")),
        (WITHDRAWN, _("Withdrawn")),
    ]
    REACHED_AUTHORITY = (SUBMITTED, ACKNOWLEDGED, INVESTIGATING, CONCLUDED)

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="referrals")
    state = FSMField(default=DRAFT, choices=STATES, protected=True)
    authority = models.CharField(max_length=32, choices=Authority.choices)
    authority_name = models.CharField(max_length=200, blank=True)
    case_number = models.CharField(max_length=100, blank=True)
    contact = models.CharField(max_length=300, blank=True)
    notes = models.TextField(blank=True, max_length=20000)
    outcome = models.TextField(blank=True, max_length=20000)
    withdrawn_reason = models.TextField(blank=True, max_length=5000)
    submitted_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    concluded_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    evidence = models.ManyToManyField("Evidence", blank=True, related_name="referrals")
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_authority_display()} ({self.state})"

    OPEN = (DRAFT, SUBMITTED, ACKNOWLEDGED, INVESTIGATING)

    # Bodies take the moment from the caller so a back-dated fact (a letter filed yesterday)
    # is recorded as it happened; the event still carries the real time of the entry.
    @transition(field=state, source=DRAFT, target=SUBMITTED, permission=LEGAL_TEAM)
    def submit(self, *, submitted_at: Any) -> None:
        self.submitted_at = submitted_at

    @transition(field=state, source=SUBMITTED, target=ACKNOWLEDGED, permission=LEGAL_TEAM)
    def acknowledge(self, *, at: Any) -> None:
        self.acknowledged_at = at

    @transition(
        field=state,
        source=[SUBMITTED, ACKNOWLEDGED],
        target=INVESTIGATING,
        permission=LEGAL_TEAM,
    )
    def start_investigation(self, *, at: Any) -> None:
        if self.acknowledged_at is None:
            self.acknowledged_at = at

    @transition(
        field=state,
        source=[SUBMITTED, ACKNOWLEDGED, INVESTIGATING],
        target=CONCLUDED,
        permission=LEGAL_TEAM,
    )
    def conclude(self, *, at: Any) -> None:
        self.concluded_at = at

    @transition(field=state, source=list(OPEN), target=WITHDRAWN, permission=LEGAL_TEAM)
    def withdraw(self, *, at: Any, reason: str) -> None:
        self.withdrawn_reason = reason


STEP_KEYS = {"key", "name", "recipient", "offset_hours"}


class JurisdictionRule(models.Model):
    """A legal (or company-policy) duty to notify someone within a time of becoming aware.

    ``steps`` is a list of {"key", "name", "recipient", "offset_hours"}; ``data_categories`` empty
    means any personal data at all triggers the rule (when ``requires_personal_data``)."""

    code = models.SlugField(max_length=32, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    # Not a statute: the UI says so (KALAK is company policy, no Iranian law fixes these times).
    is_policy = models.BooleanField(default=False)
    requires_personal_data = models.BooleanField(default=True)
    data_categories = models.JSONField(default=list, blank=True)
    min_subjects = models.PositiveBigIntegerField(null=True, blank=True)
    requires_high_risk = models.BooleanField(default=False)
    steps = models.JSONField(default=list)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        """The admin form's check: steps must be usable by obligations.sync_obligations."""
        errors = []
        if not isinstance(self.steps, list) or not self.steps:
            errors.append("Give at least one step.")
        keys = set()
        for step in self.steps if isinstance(self.steps, list) else []:
            if not isinstance(step, dict) or set(step) != STEP_KEYS:
                errors.append("Each step is {key, name, recipient, offset_hours}.")
                continue
            offset = step["offset_hours"]
            if not isinstance(offset, int | float) or isinstance(offset, bool) or offset < 0:
                errors.append(f"Step {step['key']!r}: offset_hours must be a number >= 0.")
            if step["key"] in keys:
                errors.append(f"Step key {step['key']!r} is used twice.")
            keys.add(step["key"])
        unknown = set(self.data_categories or []) - set(DataCategory.values)
        if unknown:
            errors.append(f"Unknown data categories: {sorted(unknown)}")
        if errors:
            raise ValidationError({"steps": errors})


class ObligationQuerySet(models.QuerySet):
    def open(self) -> ObligationQuerySet:
        return self.filter(state=Obligation.OPEN)

    def due_before(self, moment: Any) -> ObligationQuerySet:
        return self.filter(due_at__lt=moment)

    def for_dashboard(self) -> ObligationQuerySet:
        return self.select_related("incident", "rule", "decided_by").order_by("due_at", "id")

    def visible_to(self, user: Any) -> ObligationQuerySet:
        return of_visible_incidents(self, user)


class Obligation(FSMModelMixin, models.Model):
    """One step of one rule for one incident: due ``offset`` after the incident's ``aware_at``."""

    OPEN, FULFILLED, WAIVED = "open", "fulfilled", "waived"
    STATES = [(OPEN, _("Open")), (FULFILLED, _("Fulfilled")), (WAIVED, _("Not required"))]

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="obligations")
    rule = models.ForeignKey(JurisdictionRule, on_delete=models.PROTECT, related_name="+")
    step_key = models.CharField(max_length=40)
    step_name = models.CharField(max_length=200)
    recipient = models.CharField(max_length=200)
    offset_hours = models.FloatField()
    due_at = models.DateTimeField()
    state = FSMField(default=OPEN, choices=STATES, protected=True)
    note = models.TextField(blank=True, max_length=20000)
    document = models.ForeignKey(
        "Evidence", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = ObligationQuerySet.as_manager()

    class Meta:
        verbose_name = _("legal obligation")
        verbose_name_plural = _("legal obligations")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "rule", "step_key"], name="obligation_one_per_step"
            )
        ]
        # The dashboard's and the reminders' read: open obligations, soonest due first.
        indexes = [
            models.Index(fields=["state", "due_at", "id"], name="obligation_open_due"),
            # A list page's guard facts: the open obligations of the page's incidents
            # (incidents.guards.load_facts). Without it SQLite, which keeps no statistics, read
            # them through the index above: every open obligation of the years.
            models.Index(fields=["incident", "state"], name="obligation_incident_state"),
        ]

    def __str__(self) -> str:
        return f"{self.rule.code}/{self.step_key} for {self.incident_id}"

    @transition(field=state, source=OPEN, target=FULFILLED, permission=WRITERS)
    def fulfil(self, *, by: Any, at: Any) -> None:
        self.decided_by, self.decided_at = by, at

    @transition(field=state, source=OPEN, target=WAIVED, permission=LEGAL_TEAM)
    def waive(self, *, by: Any, at: Any) -> None:
        self.decided_by, self.decided_at = by, at


class ObligationReminder(models.Model):
    """A reminder stage that was handed to the notifier; unique, so each is sent once."""

    obligation = models.ForeignKey(Obligation, on_delete=models.CASCADE, related_name="reminders")
    stage = models.CharField(max_length=16)
    skipped = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["obligation", "stage"], name="reminder_once_per_stage")
        ]

    def __str__(self) -> str:
        return f"{self.obligation_id}:{self.stage}"
