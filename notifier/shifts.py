"""Changing who is on call: an engineer takes someone's shift, or swaps one of theirs with
another member's (docs/oncall.md). Each change is recorded as overrides (``created_by``,
``replaced``, ``reason``) and told to both people on every channel they have, through the
outbox in the same transaction: the change and the messages are kept together or not at all."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.errors import DomainError
from core.formats import moment
from core.models import Profile
from core.roles import ADMIN, ENGINEER, has_any_role
from incidents.errors import RoleForbidden
from notifier.messages import MAX_TEXT
from notifier.models import EMAIL, Rotation, RotationOverride
from notifier.oncall import Schedule, Shift
from notifier.outbox import enqueue_personal
from notifier.privacy import scrub

TAKEN, SWAPPED = "shift.taken", "shift.swapped"
# How far ahead a shift may be changed: beyond it a rotation's order is likely to change first.
HORIZON = dt.timedelta(days=366)
# A week and a daylight-saving hour: a shift that started before this is over.
LONGEST_SHIFT = dt.timedelta(days=7, hours=1)
REASON_MAX_LENGTH = 200
SHIFT_ROLES = frozenset({ENGINEER, ADMIN})


class ShiftRefused(DomainError):
    status = 409


class NoSuchShift(DomainError):
    status = 400


def may_change_shifts(user: Any) -> bool:
    return has_any_role(user, SHIFT_ROLES)


def ensure_may_change_shifts(user: Any) -> None:
    if not may_change_shifts(user):
        raise RoleForbidden(_("Only engineers and admins take or swap on-call shifts."))


def is_member(rotation: Rotation, user: Any) -> bool:
    return rotation.members.filter(user=user).exists()


def take_shift(
    rotation: Rotation, starts_at: dt.datetime, *, actor: Any, reason: str = ""
) -> RotationOverride:
    """``actor`` holds the shift starting at ``starts_at`` instead of whoever holds it now
    (the part not yet over, for a running shift); its holder and ``actor`` are told."""
    ensure_may_change_shifts(actor)
    now = timezone.now()
    with transaction.atomic():
        schedule = _locked_schedule(rotation, actor, now)
        shift = _changeable(schedule, starts_at, now)
        begin, end = shift.remaining(now)
        others = [s.user for s in shift.stretches if s.ends_at > begin and not _is(s.user, actor)]
        if not others:
            raise ShiftRefused(_("You are already on call for this whole shift."))
        override = RotationOverride.objects.create(
            rotation=schedule.rotation,
            user=actor,
            replaced=others[0],
            starts_at=begin,
            ends_at=end,
            reason=reason[:REASON_MAX_LENGTH],
            created_by=actor,
        )
        tell = {"actor": actor, "rotation": schedule.rotation, "kind": TAKEN}
        _tell(actor, on=(begin, end), off=None, key=f"shift:{override.pk}", **tell)
        if override.replaced is not None:
            _tell(override.replaced, on=None, off=(begin, end), key=f"shift:{override.pk}", **tell)
    return override


def swap_shifts(
    rotation: Rotation,
    starts_at: dt.datetime,
    with_starts_at: dt.datetime,
    *,
    actor: Any,
    reason: str = "",
) -> tuple[RotationOverride, RotationOverride]:
    """``actor`` gives their shift starting at ``starts_at`` to the member who holds the one
    starting at ``with_starts_at``, and takes that one: two overrides, both people told."""
    ensure_may_change_shifts(actor)
    now = timezone.now()
    with transaction.atomic():
        schedule = _locked_schedule(rotation, actor, now)
        mine = _changeable(schedule, starts_at, now)
        theirs = _changeable(schedule, with_starts_at, now)
        if mine.index == theirs.index:
            raise ShiftRefused(_("Pick two different shifts to swap."))
        mine_range, theirs_range = mine.remaining(now), theirs.remaining(now)
        if not _is(schedule.on_call(mine_range[0]), actor):
            raise ShiftRefused(_("You can only swap a shift you hold."))
        other = schedule.on_call(theirs_range[0])
        if other is None or _is(other, actor):
            raise ShiftRefused(_("That shift is yours already: pick someone else's."))
        if not (is_member(schedule.rotation, other) and may_change_shifts(other)):
            raise ShiftRefused(_("Shifts are swapped with engineers of the same rotation."))
        record = {"rotation": schedule.rotation, "created_by": actor}
        record["reason"] = reason[:REASON_MAX_LENGTH]
        given = RotationOverride.objects.create(
            user=other, replaced=actor, starts_at=mine_range[0], ends_at=mine_range[1], **record
        )
        taken = RotationOverride.objects.create(
            user=actor, replaced=other, starts_at=theirs_range[0], ends_at=theirs_range[1], **record
        )
        tell = {"actor": actor, "rotation": schedule.rotation, "kind": SWAPPED}
        key = f"swap:{given.pk}"
        _tell(actor, on=theirs_range, off=mine_range, key=key, **tell)
        _tell(other, on=mine_range, off=theirs_range, key=key, **tell)
    return given, taken


def _locked_schedule(rotation: Rotation, actor: Any, now: dt.datetime) -> Schedule:
    """The rotation locked (two changes at once must not both pass the checks), read fresh."""
    locked = Rotation.objects.select_for_update().filter(pk=rotation.pk).first()
    if locked is None or not locked.active:
        raise ShiftRefused(_("This rotation is not active."))
    if not is_member(locked, actor):
        raise RoleForbidden(_("Only members of this rotation take or swap its shifts."))
    fresh = Rotation.objects.with_schedule(now).get(pk=locked.pk)
    return Schedule.of(fresh)


def _changeable(schedule: Schedule, starts_at: dt.datetime, now: dt.datetime) -> Shift:
    # Bounds first: a moment near year 1 or 9999 cannot be shifted into the rotation's zone.
    if starts_at > now + HORIZON:
        raise NoSuchShift(_("Shifts can be changed at most a year ahead."))
    if starts_at < now - LONGEST_SHIFT:
        raise ShiftRefused(_("This shift is over."))
    shift = schedule.shift_starting(starts_at)
    if shift is None or shift.index < 0:
        raise NoSuchShift(_("No shift of this rotation starts at that moment."))
    if shift.ends_at <= now:
        raise ShiftRefused(_("This shift is over."))
    if shift.scheduled is None:
        raise ShiftRefused(_("This rotation has no members."))
    return shift


def _is(user: Any, other: Any) -> bool:
    return user is not None and other is not None and user.pk == other.pk


def _tell(
    user: Any,
    *,
    actor: Any,
    rotation: Rotation,
    kind: str,
    key: str,
    on: tuple[dt.datetime, dt.datetime] | None,
    off: tuple[dt.datetime, dt.datetime] | None,
) -> int:
    """Queue the news for ``user`` on each of their channels. Call inside the change's
    transaction."""
    zone = Profile.for_user(user).effective_time_zone()

    def build(language: str, channel: str) -> tuple[str, str, None]:
        return shift_message(
            language=language,
            time_zone=zone,
            html=channel != EMAIL,
            kind=kind,
            actor=actor.get_username(),
            rotation=rotation.name,
            on=on,
            off=off,
        )

    return enqueue_personal(user, kind=kind, key=f"{key}:{user.pk}", build=build)


def shift_message(
    *,
    language: str,
    time_zone: str,
    html: bool,
    kind: str,
    actor: str,
    rotation: str,
    on: tuple[dt.datetime, dt.datetime] | None,
    off: tuple[dt.datetime, dt.datetime] | None,
) -> tuple[str, str, None]:
    """Subject and text of a shift change for one person: what they now hold (``on``) and no
    longer hold (``off``). Staff names and times only; a chat's text is HTML
    (``notifier/shift_changed.html``), an email's plain (``.txt``)."""

    def span(value: tuple[dt.datetime, dt.datetime] | None) -> str:
        if value is None:
            return ""
        start, end = (moment(m, language=language, zone=time_zone) for m in value)
        return f"{start} – {end}"

    with translation.override(language):
        context = {
            "swapped": kind == SWAPPED,
            "actor": scrub(actor)[:64],
            "rotation": scrub(rotation)[:100],
            "on": span(on),
            "off": span(off),
            "url": f"{settings.PUBLIC_BASE_URL}/oncall/",
        }
        name = "notifier/shift_changed.html" if html else "notifier/shift_changed.txt"
        text = render_to_string(name, context).strip()[:MAX_TEXT]
        subject = _("On-call shifts swapped") if kind == SWAPPED else _("On-call shift taken")
        subject = f"{subject}: {context['rotation']}"
    return subject, text, None
