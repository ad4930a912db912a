"""Admins set up rotations and escalation chains; the admin refuses steps that lack what their
target needs, unknown severities and unknown time zones."""

from __future__ import annotations

from notifier.models import EscalationChain, Rotation, RotationOverride
from tests.frontend.helpers import browser


def inline(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        data |= {f"{prefix}-{n}-{key}": value for key, value in row.items()}
    return data


def rotation_form(users, **changes) -> dict:
    data = {
        "name": "infra",
        "shift": "weekly",
        "starts_on": "2026-01-03",
        "handover_time": "09:00",
        "time_zone": "Asia/Tehran",
        "active": "on",
    }
    data |= inline(
        "members",
        [
            {"user": users["engineer"].pk, "position": 0},
            {"user": users["admin"].pk, "position": 1},
        ],
    )
    data |= inline(
        "overrides",
        [
            {
                "user": users["admin"].pk,
                "starts_at_0": "2026-01-04",
                "starts_at_1": "09:00",
                "ends_at_0": "2026-01-05",
                "ends_at_1": "09:00",
                "reason": "cover",
            }
        ],
    )
    return data | changes


def chain_form(steps: list[dict], severities=("high", "critical")) -> dict:
    return {"name": "standard", "severities": list(severities), "active": "on"} | inline(
        "steps", steps
    )


def test_an_admin_sets_up_a_rotation_with_members_and_an_override_recorded_as_theirs(users):
    admin = browser(users["admin"])
    answer = admin.post("/admin/notifier/rotation/add/", rotation_form(users))
    assert answer.status_code == 302, answer.content.decode()[:3000]
    rotation = Rotation.objects.get()
    assert [m.user for m in rotation.members.order_by("position")] == [
        users["engineer"],
        users["admin"],
    ]
    assert RotationOverride.objects.get().created_by == users["admin"]


def test_an_unknown_time_zone_or_an_override_ending_before_it_starts_is_refused(users):
    admin = browser(users["admin"])
    answer = admin.post(
        "/admin/notifier/rotation/add/", rotation_form(users, time_zone="Mars/Base")
    )
    assert answer.status_code == 200 and not Rotation.objects.exists()
    backwards = rotation_form(users)
    backwards["overrides-0-ends_at_0"] = "2026-01-03"
    answer = admin.post("/admin/notifier/rotation/add/", backwards)
    assert answer.status_code == 200 and not Rotation.objects.exists()


def test_a_chain_step_needs_what_its_target_names(users):
    admin = browser(users["admin"])
    for step in ({"level": 1, "target": "on_call"}, {"level": 1, "target": "user"}):
        answer = admin.post("/admin/notifier/escalationchain/add/", chain_form([step]))
        assert answer.status_code == 200
        assert not EscalationChain.objects.exists()
    answer = admin.post(
        "/admin/notifier/escalationchain/add/",
        chain_form([{"level": 1, "target": "manager"}], severities=("urgent",)),
    )
    assert answer.status_code == 200 and not EscalationChain.objects.exists()
    answer = admin.post(
        "/admin/notifier/escalationchain/add/",
        chain_form(
            [
                {"level": 1, "target": "user", "user": users["engineer"].pk},
                {"level": 2, "target": "manager"},
            ]
        ),
    )
    assert answer.status_code == 302
    chain = EscalationChain.objects.get()
    assert chain.severities == ["high", "critical"]
    assert [s.target for s in chain.steps.order_by("level")] == ["user", "manager"]
