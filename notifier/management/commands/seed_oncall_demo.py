"""A demo on-call rotation and escalation chain for ``make run``, created once beside the demo
users (``seed_demo``), so a first look at /oncall/ and the dashboard shows who is on call."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from notifier.models import EscalationChain, EscalationStep, Rotation, RotationMember

ROTATION = "Platform on call"
SATURDAY = 5  # date.weekday(): the Iranian week starts on Saturday


class Command(BaseCommand):
    help = "Create the demo on-call rotation and escalation chain once (after seed_demo)."

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model().objects.filter(username__in=("engineer", "admin"))
        people = {user.username: user for user in users}
        if len(people) < 2 or Rotation.objects.exists() or EscalationChain.objects.exists():
            self.stdout.write("On-call demo not needed (no demo users, or rotations already set).")
            return
        today = timezone.localdate()
        with transaction.atomic():
            rotation = Rotation.objects.create(
                name=ROTATION,
                shift=Rotation.WEEKLY,
                starts_on=today - dt.timedelta(days=(today.weekday() - SATURDAY) % 7),
                handover_time=dt.time(9, 0),
                time_zone="Asia/Tehran",
            )
            for position, name in enumerate(("engineer", "admin")):
                RotationMember.objects.create(
                    rotation=rotation, user=people[name], position=position
                )
            chain = EscalationChain.objects.create(
                name="Critical incidents", severities=["critical"]
            )
            steps = [EscalationStep.ON_CALL, EscalationStep.NEXT_ON_CALL, EscalationStep.MANAGER]
            for level, target in enumerate(steps, start=1):
                on_rotation = rotation if target != EscalationStep.MANAGER else None
                EscalationStep.objects.create(
                    chain=chain, level=level, target=target, rotation=on_rotation
                )
        self.stdout.write(f"On-call demo: rotation {ROTATION!r} (engineer, admin), weekly.")
