"""The incident, its lifecycle, its referrals and the event log (the spine, DESIGN.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.roles import ADMIN, ENGINEER, LEGAL, has_any_role
from incidents import guards
from incidents.choices import (
    OPEN_STATES,
    AttackVector,
    Authority,
    Severity,
    State,
)


def _engineer_or_admin(instance: Any, user: Any) -> bool:
    return has_any_role(user, {ENGINEER, ADMIN})


def _legal_or_admin(instance: Any, user: Any) -> bool:
    return has_any_role(user, {LEGAL, ADMIN})


def _admin(instance: Any, user: Any) -> bool:
    return has_any_role(user, {ADMIN})


class IncidentQuerySet(models.QuerySet):
    def open(self) -> IncidentQuerySet:
        return self.filter(state__in=OPEN_STATES)

    def visible_to(self, user: Any) -> IncidentQuerySet:
        # Every role reads every incident today; the hook exists so that narrowing it later
        # (e.g. per-team visibility) changes one place, and the stream and feeds follow.
        from core.roles import roles_of

        return self if roles_of(user) else self.none()

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

    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = IncidentQuerySet.as_manager()

    class Meta:
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

    @transition(field=state, source=State.REFERRED, target=State.CLOSED, permission=_legal_or_admin)
    @transition(
        field=state,
        source=State.RESTORED,
        target=State.CLOSED,
        permission=_legal_or_admin,
        conditions=[guards.has_no_referral_reason],
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
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_authority_display()} ({self.state})"

    @transition(field=state, source=DRAFT, target=SUBMITTED, permission=_legal_or_admin)
    def submit(self, *, submitted_at: Any) -> None:
        self.submitted_at = submitted_at


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
