"""The on-call page (issue 22 section 2; docs/oncall.md): every active rotation, who is on call
now and next, four weeks of shifts, the overrides; members who are engineers (or admins) take
or swap a shift from it. Each write calls one domain function (notifier/shifts.py), which checks
the role, the membership and the shift; the page only hides what it would refuse."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from core.errors import DomainError
from frontend.views.common import error_page, form_target, role_required
from frontend.views.flash_forms import SeeOther
from notifier.models import Rotation
from notifier.oncall import OnCall, Schedule, Shift, on_call_in, schedules
from notifier.shifts import (
    REASON_MAX_LENGTH,
    NoSuchShift,
    may_change_shifts,
    swap_shifts,
    take_shift,
)

CALENDAR = dt.timedelta(weeks=4)


@dataclass(frozen=True)
class ShiftRow:
    shift: Shift
    key: str  # the shift's start, as the forms send it back
    current: bool
    mine: bool  # the reader holds all of what is left of it
    may_take: bool
    may_swap: bool


@dataclass(frozen=True)
class RotationCard:
    schedule: Schedule
    now: OnCall
    rows: list[ShiftRow]
    overrides: list[Any]
    member: bool
    my_shifts: list[ShiftRow]


def _card(schedule: Schedule, user: Any, now: dt.datetime, changes: bool) -> RotationCard:
    member = changes and any(u.pk == user.pk for u in schedule.members)
    shifts = schedule.shifts(now, now + CALENDAR)
    holders = [schedule.on_call(shift.remaining(now)[0]) for shift in shifts]
    holds_one = any(h is not None and h.pk == user.pk for h in holders)
    rows = []
    for shift, holder in zip(shifts, holders, strict=True):
        left = [s for s in shift.stretches if s.ends_at > now]
        mine = all(s.user is not None and s.user.pk == user.pk for s in left)
        rows.append(
            ShiftRow(
                shift=shift,
                key=shift.starts_at.isoformat(),
                current=shift.starts_at <= now,
                mine=mine,
                may_take=member and not mine,
                # "Swap with me" needs a shift of the reader's own to give in return.
                may_swap=member and holds_one and holder is not None and holder.pk != user.pk,
            )
        )
    my_shifts = [
        row
        for row, holder in zip(rows, holders, strict=True)
        if holder is not None and holder.pk == user.pk
    ]
    return RotationCard(
        schedule=schedule,
        now=on_call_in(schedule, now),
        rows=rows,
        overrides=[o for o in schedule.overrides if o.ends_at > now],
        member=member,
        my_shifts=my_shifts,
    )


@role_required
def oncall(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    changes = may_change_shifts(request.user)
    cards = [_card(schedule, request.user, now, changes) for schedule in schedules(now)]
    context = {"cards": cards, "may_change": changes, "reason_max": REASON_MAX_LENGTH}
    return render(request, "frontend/oncall.html", context)


def _moment(value: str | None) -> dt.datetime:
    try:
        parsed = parse_datetime(value or "")
    except ValueError:
        parsed = None
    if parsed is None or timezone.is_naive(parsed):
        raise NoSuchShift(_("No shift of this rotation starts at that moment."))
    return parsed


def _answer(request: HttpRequest, change: Any, done: str) -> HttpResponse:
    """Run ``change()``; a role refusal is the error page (403), any other refusal a message
    on the schedule, as success is."""
    try:
        change()
    except DomainError as refusal:
        if refusal.status == 403:
            return error_page(request, 403, refusal.detail)
        messages.error(request, refusal.detail)
    else:
        messages.success(request, done)
    return SeeOther(reverse("frontend:oncall"))


@form_target("frontend:oncall")
@role_required
def shift_take(request: HttpRequest, pk: int) -> HttpResponse:
    rotation = get_object_or_404(Rotation, pk=pk)
    reason = request.POST.get("reason", "")[:REASON_MAX_LENGTH]

    def change() -> None:
        take_shift(rotation, _moment(request.POST.get("shift")), actor=request.user, reason=reason)

    return _answer(request, change, _("The shift is yours; both of you were told."))


@form_target("frontend:oncall")
@role_required
def shift_swap(request: HttpRequest, pk: int) -> HttpResponse:
    rotation = get_object_or_404(Rotation, pk=pk)
    reason = request.POST.get("reason", "")[:REASON_MAX_LENGTH]

    def change() -> None:
        mine, theirs = _moment(request.POST.get("mine")), _moment(request.POST.get("shift"))
        swap_shifts(rotation, mine, theirs, actor=request.user, reason=reason)

    return _answer(request, change, _("The shifts are swapped; both of you were told."))
