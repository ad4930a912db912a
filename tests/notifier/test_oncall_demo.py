"""``make run``'s demo rotation: created once after the demo users, someone on call now."""

from __future__ import annotations

import io

from django.core.management import call_command

from notifier.models import EscalationChain, Rotation
from notifier.oncall import on_call_now


def test_demo_rotation_puts_a_demo_user_on_call_and_is_made_once(db):
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_oncall_demo", stdout=io.StringIO())
    [now] = on_call_now()
    assert now.user.username in ("engineer", "admin") and now.next_user != now.user
    [chain] = EscalationChain.objects.all()
    assert [step.target for step in chain.steps.order_by("level")] == [
        "on_call",
        "next_on_call",
        "manager",
    ]
    call_command("seed_oncall_demo", stdout=io.StringIO())
    assert Rotation.objects.count() == 1 and EscalationChain.objects.count() == 1


def test_no_demo_rotation_without_the_demo_users(db):
    call_command("seed_oncall_demo", stdout=io.StringIO())
    assert not Rotation.objects.exists()
