"""Rotations as an admin sets them up (members in order), for the on-call tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from notifier.models import Rotation, RotationMember, RotationOverride

TEHRAN = dt.timezone(dt.timedelta(hours=3, minutes=30))


def rotation(
    name: str,
    members: list[Any],
    *,
    shift: str = Rotation.WEEKLY,
    starts_on: dt.date = dt.date(2026, 1, 3),
    handover: dt.time = dt.time(9, 0),
    zone: str = "Asia/Tehran",
    active: bool = True,
) -> Rotation:
    made = Rotation.objects.create(
        name=name,
        shift=shift,
        starts_on=starts_on,
        handover_time=handover,
        time_zone=zone,
        active=active,
    )
    for position, user in enumerate(members):
        RotationMember.objects.create(rotation=made, user=user, position=position)
    return made


def override(
    rot: Rotation,
    user: Any,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    *,
    created_at: dt.datetime | None = None,
) -> RotationOverride:
    extra = {"created_at": created_at} if created_at else {}
    return RotationOverride.objects.create(
        rotation=rot, user=user, starts_at=starts_at, ends_at=ends_at, **extra
    )
