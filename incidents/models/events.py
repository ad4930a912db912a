"""The event log (the spine, DESIGN.md): its rows, its head and the recorded walks of its hash
chain."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from incidents.choices import SETTLED_STATES, State
from incidents.models.incident import Incident, of_visible_incidents

# What an event records beside its seq, incident and actor: the columns every view of the log
# shows (the API, the record's walk, the dossier).
EVENT_BODY = ("created_at", "from_state", "to_state", "data", "prev_hash", "hash")


class EventQuerySet(models.QuerySet):
    """The log is append-only: bulk edits and deletes are refused here and in the admin."""

    def update(self, **kwargs: Any) -> int:
        raise PermissionError("events are append-only")

    def delete(self) -> Any:
        raise PermissionError("events are append-only")

    def visible_to(self, user: Any) -> EventQuerySet:
        return of_visible_incidents(self, user)

    def after(self, seq: int) -> EventQuerySet:
        return self.filter(seq__gt=seq).order_by("seq")

    def that_move_figures(self) -> EventQuerySet:
        """The events that may change what incidents count as or who reads them: an incident
        logged or a transition (``to_state``: its state and the moment it stamps), an edit of
        one of ``EDITS_THAT_MOVE_FIGURES`` (its event names the fields it changed), a
        restriction or its members. Not the notes, tasks, status updates and the rest, most
        of the log: the dashboard keeps its counts and medians across those."""
        from incidents.need_to_know import MEMBERS_ADDED, MEMBERS_REMOVED, RESTRICTED, UNRESTRICTED

        access = (RESTRICTED, UNRESTRICTED, MEMBERS_ADDED, MEMBERS_REMOVED)
        edits = models.Q(kind="updated", data__changes__has_any_keys=EDITS_THAT_MOVE_FIGURES)
        return self.filter(~models.Q(to_state="") | models.Q(kind__in=access) | edits)

    def that_move_closed_months(self) -> EventQuerySet:
        """The events that may change a past month's restore median: a restoration (a
        reopened incident restored again leaves the month it was first restored in) or an edit
        of a detection time. No other change reaches a month that is over: restoration stamps
        the present, and the other figures' events (the rest of ``that_move_figures``) touch
        neither moment."""
        edits = models.Q(kind="updated", data__changes__has_key="detected_at")
        return self.filter(models.Q(to_state=State.RESTORED) | edits)

    def that_move_settled_counts(self) -> EventQuerySet:
        """The events that may change how many incidents of each severity are referred,
        closed or dismissed: a transition into or out of one of those states, an edit of the
        severity."""
        edits = models.Q(kind="updated", data__changes__has_key="severity")
        moves = models.Q(from_state__in=SETTLED_STATES) | models.Q(to_state__in=SETTLED_STATES)
        return self.filter(moves | edits)

    def that_move_readers(self) -> EventQuerySet:
        """The events that may change which open incidents a reader may not read: a
        restriction or its members, an edit of the commander, a transition (or the logging) of
        an incident restricted now (one restricted or unrestricted since has that event too)."""
        from incidents.need_to_know import MEMBERS_ADDED, MEMBERS_REMOVED, RESTRICTED, UNRESTRICTED

        access = (RESTRICTED, UNRESTRICTED, MEMBERS_ADDED, MEMBERS_REMOVED)
        edits = models.Q(kind="updated", data__changes__has_key="commander")
        moves = ~models.Q(to_state="") & models.Q(incident__restricted=True)
        return self.filter(moves | models.Q(kind__in=access) | edits)

    def that_move_lists(self) -> EventQuerySet:
        """The events that may change the dashboard's legal deadlines, overdue follow-ups or
        dead deliveries of a reader (they name incidents by their reference, which never
        changes): all but the quiet kinds, the most of a breach's log: notes, status updates,
        runbook tasks, and edits that neither moved a legal deadline (an edit of the scope
        records the obligations it moved in its event) nor the commander (who reads a
        restricted incident)."""
        from incidents.notes import NOTE
        from incidents.workspace.tasks import TASK_KINDS
        from incidents.workspace.updates import STATUS_UPDATE

        edits = models.Q(kind="updated") & ~(
            models.Q(data__has_key="obligations") | models.Q(data__changes__has_key="commander")
        )
        return self.exclude(models.Q(kind__in=(NOTE, STATUS_UPDATE, *TASK_KINDS)) | edits)


# The edited fields the dashboard's figures read: the counts by severity, the medians from
# detection, who commands a restricted incident (and so reads it).
EDITS_THAT_MOVE_FIGURES = ("severity", "detected_at", "commander")


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
        # One incident's events in seq order (the feed's ``incident=``, the timeline, the
        # dossier). The foreign key keeps its own index: dropping it would make SQLite copy
        # the whole log into a new table.
        indexes = [models.Index(fields=["incident", "seq"], name="event_incident_seq")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("events are append-only")


class LogHeadQuerySet(models.QuerySet):
    def latest_seq(self) -> int:
        """The newest seq of the log (0 before the first event): one indexed read."""
        return self.filter(id=1).values_list("seq", flat=True).first() or 0


class LogHead(models.Model):
    """The single row holding the newest seq and hash. Locking it serialises appends, so seq
    order is commit order: a reader that saw seq N never later finds a new event below N."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)
    # The seq of the newest scheduled signed checkpoint (0 before the first): read with the head
    # it is locked with, so an append knows without another query whether one is due. A hint
    # for making checkpoints only; verification trusts nothing but the signatures.
    checkpoint_seq = models.BigIntegerField(default=0)

    objects = LogHeadQuerySet.as_manager()

    def __str__(self) -> str:
        return f"head #{self.seq}"


# A walk's verdict wherever it is shown (the API, the dossier).
VERDICT = ("ok", "checked", "last_seq", "last_hash", "broken_seq", "detail")


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
    # Where the walk began: 0 for a full walk, else the seq of the signed checkpoint an
    # incremental walk started from; and how many signed checkpoints it checked.
    from_seq = models.BigIntegerField(default=0)
    checkpoints = models.PositiveIntegerField(default=0)

    objects = VerificationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-finished_at", "-id"]
        # The newest run (the dashboard) and the newest good one (where a walk may start):
        # one run per dossier export, so their number grows with the years.
        indexes = [
            models.Index(fields=["finished_at", "id"], name="verification_done"),
            models.Index(fields=["ok", "finished_at", "id"], name="verification_ok_done"),
        ]

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'BROKEN'} at {self.finished_at}"
