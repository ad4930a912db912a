"""The incident, its lifecycle, its referrals and the event log (the spine, DESIGN.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.roles import ADMIN, ENGINEER, LEGAL, WRITER_ROLES, has_any_role, roles_of
from incidents import guards
from incidents.choices import (
    OPEN_STATES,
    AttackVector,
    Authority,
    DataCategory,
    Severity,
    State,
)


def _engineer_or_admin(instance: Any, user: Any) -> bool:
    return has_any_role(user, {ENGINEER, ADMIN})


def _legal_or_admin(instance: Any, user: Any) -> bool:
    return has_any_role(user, {LEGAL, ADMIN})


def _writer(instance: Any, user: Any) -> bool:
    return has_any_role(user, WRITER_ROLES)


def _admin(instance: Any, user: Any) -> bool:
    return has_any_role(user, {ADMIN})


def roles_see_incidents(roles: frozenset[str]) -> bool:
    """Which incidents a reader's roles open to them: today, every role reads every incident.
    The one rule behind ``IncidentQuerySet.visible_to`` (and so every feed), the transition
    endpoint's by-reference lock and the live stream's per-frame check; narrowing it (e.g.
    per-team visibility) starts here."""
    return bool(roles)


class IncidentQuerySet(models.QuerySet):
    def open(self) -> IncidentQuerySet:
        return self.filter(state__in=OPEN_STATES)

    def visible_to(self, user: Any) -> IncidentQuerySet:
        return self if roles_see_incidents(roles_of(user)) else self.none()

    def with_people(self) -> IncidentQuerySet:
        return self.select_related("reporter", "commander")


class Incident(FSMModelMixin, models.Model):
    ref_year = models.PositiveSmallIntegerField(editable=False)
    ref_number = models.PositiveIntegerField(editable=False)
    reference = models.CharField(max_length=32, unique=True, editable=False)

    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"), blank=True, max_length=20000)
    severity = models.CharField(_("severity"), max_length=16, choices=Severity.choices)
    state = FSMField(default=State.DETECTED, choices=State.choices, protected=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )

    detected_at = models.DateTimeField(_("detected at"))
    aware_at = models.DateTimeField(_("aware at"))
    scoping_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    restoring_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    restored_at = models.DateTimeField(null=True, blank=True, editable=False)
    referred_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    dismissed_at = models.DateTimeField(null=True, blank=True, editable=False)

    attack_vector = models.CharField(
        _("attack vector"), max_length=32, choices=AttackVector.choices, blank=True
    )
    source_details = models.TextField(_("source details"), blank=True, max_length=20000)
    data_categories = models.JSONField(_("data categories"), default=list, blank=True)
    affected_systems = models.JSONField(_("affected systems"), default=list, blank=True)
    affected_subjects_estimate = models.PositiveBigIntegerField(
        _("affected subjects (estimate)"), null=True, blank=True
    )
    restoration_summary = models.TextField(_("restoration summary"), blank=True, max_length=20000)
    no_referral_reason = models.TextField(_("reason for no referral"), blank=True, max_length=5000)
    # Legal's judgement that the breach is likely to put people at high risk (GDPR art. 34).
    high_risk = models.BooleanField(_("high risk to data subjects"), default=False)

    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-ref_year", "-ref_number"]
        constraints = [
            models.UniqueConstraint(fields=["ref_year", "ref_number"], name="incident_ref_unique"),
            models.CheckConstraint(
                condition=models.Q(aware_at__gte=models.F("detected_at")),
                name="incident_aware_not_before_detected",
            ),
        ]
        indexes = [models.Index(fields=["state", "severity"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    # --- lifecycle (STYLE.md rules 1-3: bodies touch only this instance) ---------------------

    @transition(
        field=state, source=State.DETECTED, target=State.SCOPING, permission=_engineer_or_admin
    )
    def start_scoping(self, *, actor: Any) -> None:
        self.scoping_started_at = timezone.now()
        if self.commander_id is None:
            self.commander = actor

    @transition(
        field=state,
        source=State.SCOPING,
        target=State.RESTORING,
        permission=_engineer_or_admin,
        conditions=[
            guards.has_attack_vector,
            guards.has_affected_systems,
            guards.has_subjects_estimate,
        ],
    )
    def start_restoration(self, *, actor: Any) -> None:
        self.restoring_started_at = timezone.now()

    @transition(
        field=state,
        source=State.RESTORING,
        target=State.RESTORED,
        permission=_engineer_or_admin,
        conditions=[guards.has_restoration_summary],
    )
    def mark_restored(self, *, actor: Any) -> None:
        self.restored_at = timezone.now()

    @transition(
        field=state,
        source=State.RESTORED,
        target=State.REFERRED,
        permission=_legal_or_admin,
        conditions=[guards.has_submitted_referral],
    )
    def refer(self, *, actor: Any) -> None:
        self.referred_at = timezone.now()

    @transition(
        field=state,
        source=State.REFERRED,
        target=State.CLOSED,
        permission=_legal_or_admin,
        conditions=[guards.has_no_open_obligations],
    )
    @transition(
        field=state,
        source=State.RESTORED,
        target=State.CLOSED,
        permission=_legal_or_admin,
        conditions=[guards.has_no_referral_reason, guards.has_no_open_obligations],
    )
    def close(self, *, actor: Any) -> None:
        self.closed_at = timezone.now()

    @transition(
        field=state,
        source=[State.DETECTED, State.SCOPING],
        target=State.DISMISSED,
        permission=_engineer_or_admin,
    )
    def dismiss(self, *, actor: Any) -> None:
        self.dismissed_at = timezone.now()

    @transition(
        field=state, source=State.DISMISSED, target=State.SCOPING, permission=_engineer_or_admin
    )
    @transition(field=state, source=State.CLOSED, target=State.SCOPING, permission=_admin)
    def reopen(self, *, actor: Any) -> None:
        self.dismissed_at = None
        self.closed_at = None
        self.scoping_started_at = timezone.now()


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
    @transition(field=state, source=DRAFT, target=SUBMITTED, permission=_legal_or_admin)
    def submit(self, *, submitted_at: Any) -> None:
        self.submitted_at = submitted_at

    @transition(field=state, source=SUBMITTED, target=ACKNOWLEDGED, permission=_legal_or_admin)
    def acknowledge(self, *, at: Any) -> None:
        self.acknowledged_at = at

    @transition(
        field=state,
        source=[SUBMITTED, ACKNOWLEDGED],
        target=INVESTIGATING,
        permission=_legal_or_admin,
    )
    def start_investigation(self, *, at: Any) -> None:
        if self.acknowledged_at is None:
            self.acknowledged_at = at

    @transition(
        field=state,
        source=[SUBMITTED, ACKNOWLEDGED, INVESTIGATING],
        target=CONCLUDED,
        permission=_legal_or_admin,
    )
    def conclude(self, *, at: Any) -> None:
        self.concluded_at = at

    @transition(field=state, source=list(OPEN), target=WITHDRAWN, permission=_legal_or_admin)
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

    def overdue(self, now: Any) -> ObligationQuerySet:
        return self.open().filter(due_at__lte=now)

    def for_dashboard(self) -> ObligationQuerySet:
        return self.select_related("incident", "rule", "decided_by").order_by("due_at", "id")

    def visible_to(self, user: Any) -> ObligationQuerySet:
        return self.filter(incident__in=Incident.objects.visible_to(user))

    def reminders_due(self, now: Any) -> list[tuple[Obligation, str]]:
        """(obligation, stage) pairs to remind now: for each open obligation, the latest stage
        whose time has come, unless that stage or a later one was already reminded. An
        obligation created 3 h before its due time gets the 1 h and overdue reminders only."""
        from incidents.obligations import REMINDER_STAGES, stage_times

        pairs = []
        horizon = now + max(offset for _, offset in REMINDER_STAGES)
        candidates = self.open().filter(due_at__lte=horizon).prefetch_related("reminders")
        for obligation in candidates.select_related("incident", "rule"):
            passed = [s for s, at in stage_times(obligation.due_at) if at <= now]
            if not passed:
                continue
            done = {r.stage for r in obligation.reminders.all()}
            order = [s for s, _ in REMINDER_STAGES]
            latest = passed[-1]
            if not any(order.index(s) >= order.index(latest) for s in done):
                pairs.append((obligation, latest))
        return pairs


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

    def __str__(self) -> str:
        return f"{self.rule.code}/{self.step_key} for {self.incident_id}"

    @transition(field=state, source=OPEN, target=FULFILLED, permission=_writer)
    def fulfil(self, *, by: Any, at: Any) -> None:
        self.decided_by, self.decided_at = by, at

    @transition(field=state, source=OPEN, target=WAIVED, permission=_legal_or_admin)
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


class Evidence(models.Model):
    """A file held for an authority. Stored under ``stored_name`` (server-made); the name it was
    uploaded with is metadata only and never touches the file system."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="evidence")
    stored_name = models.CharField(max_length=100, unique=True, editable=False)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    description = models.TextField(blank=True, max_length=5000)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField()
    integrity_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.sha256[:12]})"


class CustodyEntry(models.Model):
    """Chain of custody: who touched which evidence, as what role, when (UTC), and why."""

    UPLOADED, DOWNLOADED, HANDED_OVER, INTEGRITY_FAILED = (
        "uploaded",
        "downloaded",
        "handed_over",
        "integrity_failed",
    )
    ACTIONS = [
        (UPLOADED, _("Uploaded")),
        (DOWNLOADED, _("Downloaded")),
        (HANDED_OVER, _("Handed over")),
        (INTEGRITY_FAILED, _("Integrity check failed")),
    ]

    evidence = models.ForeignKey(Evidence, on_delete=models.PROTECT, related_name="custody")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    actor_username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, blank=True)
    at = models.DateTimeField()
    action = models.CharField(max_length=20, choices=ACTIONS)
    note = models.TextField(blank=True, max_length=5000)
    referral = models.ForeignKey(
        Referral, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "custody entries"

    def __str__(self) -> str:
        return f"{self.action} {self.evidence_id} by {self.actor_username}"


class VerificationRunQuerySet(models.QuerySet):
    def latest_run(self) -> VerificationRun | None:
        return self.order_by("-finished_at", "-id").first()


class VerificationRun(models.Model):
    """The result of one walk of the hash chain, for the dashboard ("last verified ...")."""

    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    checked = models.PositiveBigIntegerField()
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True)
    broken_seq = models.BigIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)
    expected = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=20, default="command")

    objects = VerificationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-finished_at", "-id"]

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'BROKEN'} at {self.finished_at}"


class EventQuerySet(models.QuerySet):
    """The log is append-only: bulk edits and deletes are refused here and in the admin."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("events are append-only")

    def delete(self) -> Any:
        raise PermissionError("events are append-only")

    def visible_to(self, user: Any) -> EventQuerySet:
        return self.filter(incident__in=Incident.objects.visible_to(user))

    def after(self, seq: int) -> EventQuerySet:
        return self.filter(seq__gt=seq).order_by("seq")


class Event(models.Model):
    """One change of one incident. ``seq`` is global and increases in commit order."""

    seq = models.BigIntegerField(unique=True, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    actor_username = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField()
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16, blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("events are append-only")


class LogHead(models.Model):
    """The single row holding the newest seq and hash. Locking it serialises appends, so seq
    order is commit order: a reader that saw seq N never later finds a new event below N."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"head #{self.seq}"
