"""The incident and its lifecycle, and the role rules its transitions (and the legal records'
transitions, models/legal.py) check."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from core.roles import ADMIN, ADMINS, ENGINEERS, LEGAL_TEAM, roles_of
from incidents import guards
from incidents.choices import (
    OPEN_STATES,
    SEVERITY_RANK,
    TERMINAL_STATES,
    AttackVector,
    Severity,
    State,
)


def roles_see_incidents(roles: frozenset[str]) -> bool:
    """Whether a reader's roles open any incident to them: any Breach Desk role. Which ones is
    ``IncidentQuerySet.visible_to`` (restricted incidents: their audience and admins)."""
    return bool(roles)


def sees(roles: frozenset[str], user_id: int | None, audience: frozenset[int] | None) -> bool:
    """The need-to-know rule in memory, for readers that hold many recipients and one incident
    (the live stream's frames, Telegram's recipients): ``audience`` is None for an incident
    everyone with a role reads, else the ids of its members and commander (``Incident.audience``).
    ``visible_to`` is the same rule as one query condition."""
    if not roles:
        return False
    return audience is None or sees_every_incident(roles) or user_id in audience


def sees_every_incident(roles: frozenset[str]) -> bool:
    """Admins read restricted incidents too: their reads need no visibility condition."""
    return ADMIN in roles


def of_visible_incidents(rows: models.QuerySet, user: Any) -> models.QuerySet:
    """``rows`` (of a model with an ``incident`` foreign key) narrowed to the incidents
    ``user`` may read. An EXISTS correlated on ``incident_id``, not ``incident__in``: the
    planners then walk the rows' own index (the event log by seq) and probe each incident by
    its primary key, where an IN list made SQLite read the whole log first. Admins get no
    condition at all."""
    roles = roles_of(user)
    if not roles_see_incidents(roles):
        return rows.none()
    if sees_every_incident(roles):
        return rows.all()
    visible = Incident.objects.visible_to(user).filter(pk=models.OuterRef("incident_id"))
    return rows.filter(models.Exists(visible))


class SeverityRank(models.Func):
    """The incident's severity as its rank (``SEVERITY_RANK``), in SQL of literals alone: an
    index on an expression (or with a condition) serves a query only if both read the same
    expression, and SQLite does not match one holding parameters (a ``Case`` of ``Value``s, a
    ``state__in``) to the index's."""

    output_field = models.IntegerField()

    def __init__(self) -> None:
        super().__init__(models.F("severity"))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        column, params = compiler.compile(self.source_expressions[0])
        ranks = " ".join(f"WHEN '{s.value}' THEN {rank}" for s, rank in SEVERITY_RANK.items())
        return f"CASE {column} {ranks} END", params


class IsOpen(models.Func):
    """Whether the incident is open (not in a terminal state: every state is one or the other),
    in SQL of literals alone, as ``SeverityRank``: the condition of the index
    ``incident_open_by_severity``. "Not terminal" and not ``IN`` the open states: no other index
    serves that condition, so SQLite reads this one without statistics."""

    output_field = models.BooleanField()

    def __init__(self) -> None:
        super().__init__(models.F("state"))

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        column, params = compiler.compile(self.source_expressions[0])
        terminal = ", ".join(f"'{state.value}'" for state in TERMINAL_STATES)
        return f"{column} NOT IN ({terminal})", params


# Column groups, named once: the API's shapes, the page forms and the dossier's export compose
# their field lists from these.
# The lifecycle's moments, each stamped by its transition.
STAMPS = (
    "scoping_started_at",
    "restoring_started_at",
    "restored_at",
    "referred_at",
    "closed_at",
    "dismissed_at",
)
# The breach's source and extent (DESIGN.md), as people write them down while scoping.
SCOPE = (
    "attack_vector",
    "source_details",
    "data_categories",
    "affected_systems",
    "affected_subjects_estimate",
)
# What people write about an incident, first when they log it, then while they work it.
FACTS = ("title", "summary", "severity", "commander", "detected_at", "aware_at")


class IncidentQuerySet(models.QuerySet):
    def open(self) -> IncidentQuerySet:
        return self.filter(state__in=OPEN_STATES)

    def visible_to(self, user: Any) -> IncidentQuerySet:
        """What ``user`` may read: nothing without a role; everything for an admin; otherwise
        every unrestricted incident and the restricted ones they command or are a member of.
        One condition (an EXISTS on the member table's unique index, no DISTINCT), so every
        read path that starts here costs the same whatever the data."""
        roles = roles_of(user)
        if not roles_see_incidents(roles):
            return self.none()
        if sees_every_incident(roles):
            return self
        member = Incident.members.through.objects.filter(
            incident_id=models.OuterRef("pk"), user_id=user.pk
        )
        return self.filter(
            models.Q(restricted=False) | models.Q(commander_id=user.pk) | models.Exists(member)
        )

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
    # Need to know (issue 17): a restricted incident is read only by its members, its commander
    # and admins. Changed only by incidents/need_to_know.py, each change an event.
    restricted = models.BooleanField(_("restricted"), default=False, editable=False)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="+", blank=True, verbose_name=_("members")
    )

    # When the commander owes stakeholders the next status update (issue 20): set from the
    # severity's cadence when the incident is logged, and by each update; kept on the row so
    # the dashboard and the reminders find overdue incidents by one index.
    next_update_at = models.DateTimeField(null=True, blank=True, editable=False)

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
        # Every sort the lists offer (incidents/filters.py) ends with the reference, newest
        # first, and has an index with those tie-breakers, read forwards or backwards, so a
        # page reads its rows from the index instead of sorting every incident. A column of
        # few values (state, severity) needs one per direction: its groups are large.
        indexes = [
            models.Index(fields=["state", "severity"]),
            models.Index(fields=["next_update_at"], name="incident_next_update"),
            # Whether someone commands a restricted incident (the dashboard's shared panels ask
            # for every viewer): without it, the walk visits every incident they command.
            models.Index(fields=["restricted", "commander"], name="incident_restricted_commander"),
            # The dashboard's open rows, most severe first and oldest first within a severity:
            # read from this index to the limit, not sorted from every open incident (60,000 at
            # 100k).
            models.Index(
                SeverityRank().desc(),
                models.F("detected_at"),
                condition=models.Q(IsOpen()),
                name="incident_open_by_severity",
            ),
            # The dashboard's count of open incidents a reader may not read: among the restricted
            # ones (a few thousand at 100,000 incidents), not among every open one; with the
            # commander, which that count tests for each of them.
            models.Index(
                fields=["state", "commander"],
                condition=models.Q(restricted=True),
                name="incident_restricted_state",
            ),
            # The dashboard's medians read the incidents that reached a phase in a window, and
            # the time from their detection: both from the index (no row read per incident).
            *(
                models.Index(fields=[column, "detected_at"], name=f"incident_span_{name}")
                for column, name in (
                    ("restoring_started_at", "restoring"),
                    ("restored_at", "restored"),
                    ("referred_at", "referred"),
                )
            ),
            *(
                models.Index(
                    fields=[column, "ref_year", "ref_number"], name=f"incident_sort_{column}"
                )
                for column in ("detected_at", "updated_at", "aware_at", "created_at")
            ),
            *(
                models.Index(fields=[column, *ties], name=f"incident_sort_{column}_{way}")
                for column in ("state", "severity")
                for way, ties in (
                    ("up", ["-ref_year", "-ref_number"]),
                    ("down", ["ref_year", "ref_number"]),
                )
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def audience(self) -> frozenset[int] | None:
        """Who may read this incident beside admins: None when it is not restricted (everyone
        with a role), else its members' and commander's ids (one query). For ``sees``."""
        if not self.restricted:
            return None
        ids = set(self.members.values_list("id", flat=True))
        if self.commander_id is not None:
            ids.add(self.commander_id)
        return frozenset(ids)

    # --- lifecycle (STYLE.md rules 1-3: bodies touch only this instance) ---------------------

    @transition(field=state, source=State.DETECTED, target=State.SCOPING, permission=ENGINEERS)
    def start_scoping(self, *, actor: Any) -> None:
        self.scoping_started_at = timezone.now()
        if self.commander_id is None:
            self.commander = actor

    @transition(
        field=state,
        source=State.SCOPING,
        target=State.RESTORING,
        permission=ENGINEERS,
        conditions=[
            guards.has_attack_vector,
            guards.has_affected_systems,
            guards.has_subjects_estimate,
            guards.has_no_open_required_tasks,
        ],
    )
    def start_restoration(self, *, actor: Any) -> None:
        self.restoring_started_at = timezone.now()

    @transition(
        field=state,
        source=State.RESTORING,
        target=State.RESTORED,
        permission=ENGINEERS,
        conditions=[guards.has_restoration_summary, guards.has_no_open_required_tasks],
    )
    def mark_restored(self, *, actor: Any) -> None:
        self.restored_at = timezone.now()

    @transition(
        field=state,
        source=State.RESTORED,
        target=State.REFERRED,
        permission=LEGAL_TEAM,
        conditions=[guards.has_submitted_referral],
    )
    def refer(self, *, actor: Any) -> None:
        self.referred_at = timezone.now()

    @transition(
        field=state,
        source=State.REFERRED,
        target=State.CLOSED,
        permission=LEGAL_TEAM,
        conditions=[guards.has_no_open_obligations, guards.has_finished_review],
    )
    @transition(
        field=state,
        source=State.RESTORED,
        target=State.CLOSED,
        permission=LEGAL_TEAM,
        conditions=[
            guards.has_no_referral_reason,
            guards.has_no_open_obligations,
            guards.has_finished_review,
        ],
    )
    def close(self, *, actor: Any) -> None:
        self.closed_at = timezone.now()

    @transition(
        field=state,
        source=[State.DETECTED, State.SCOPING],
        target=State.DISMISSED,
        permission=ENGINEERS,
    )
    def dismiss(self, *, actor: Any) -> None:
        self.dismissed_at = timezone.now()

    @transition(field=state, source=State.DISMISSED, target=State.SCOPING, permission=ENGINEERS)
    @transition(field=state, source=State.CLOSED, target=State.SCOPING, permission=ADMINS)
    def reopen(self, *, actor: Any) -> None:
        self.dismissed_at = None
        self.closed_at = None
        # A new closing without referral needs its own reason; the old one stays in the log.
        self.no_referral_reason = ""
        self.scoping_started_at = timezone.now()
