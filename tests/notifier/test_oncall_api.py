"""On call over the API: who is on call now and next; take and swap as JSON, refusals as
clear 4xx answers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from notifier.models import Rotation, RotationOverride
from notifier.oncall import Schedule
from tests.conftest import client_for, make_user
from tests.notifier.oncall_helpers import rotation


@pytest.fixture
def infra(users, settings):
    settings.LANGUAGE_CODE = "en"
    crew = [users["engineer"], make_user("bahar", "engineer")]
    return rotation("infra", crew, starts_on=timezone.localdate() - dt.timedelta(weeks=3))


def shifts(rot: Rotation) -> Schedule:
    return Schedule.of(Rotation.objects.with_schedule(timezone.now()).get(pk=rot.pk))


def upcoming(rot: Rotation, username: str):
    schedule = shifts(rot)
    index = schedule.index_at(timezone.now()) + 1
    while schedule.shift(index).user.username != username:
        index += 1
    return schedule.shift(index).starts_at.isoformat()


def test_every_role_reads_who_is_on_call_now_and_next(api, infra):
    body = api("executive").get("/api/oncall/").json()
    [row] = body["rotations"]
    schedule = shifts(infra)
    now = schedule.on_call(timezone.now())
    assert row["name"] == "infra" and row["shift"] == "weekly"
    assert row["on_call"] == {"id": now.pk, "username": now.username}
    assert row["next"]["username"] != now.username and row["next_from"]


def test_an_engineer_member_takes_a_shift(api, users, infra):
    answer = api("engineer").post(
        f"/api/oncall/{infra.pk}/take/",
        {"shift": upcoming(infra, "bahar"), "reason": "cover"},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    [override] = answer.json()["overrides"]
    assert override["user"]["username"] == "engineer"
    assert override["replaced"]["username"] == "bahar" and override["reason"] == "cover"
    assert RotationOverride.objects.count() == 1


def test_a_swap_answers_both_overrides(api, infra):
    answer = api("engineer").post(
        f"/api/oncall/{infra.pk}/swap/",
        {"shift": upcoming(infra, "engineer"), "with_shift": upcoming(infra, "bahar")},
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    pairs = {(o["user"]["username"], o["replaced"]["username"]) for o in answer.json()["overrides"]}
    assert pairs == {("bahar", "engineer"), ("engineer", "bahar")}


def test_refusals_are_clear_4xx(api, infra):
    shift = upcoming(infra, "bahar")
    take = f"/api/oncall/{infra.pk}/take/"
    assert api("executive").post(take, {"shift": shift}, format="json").status_code == 403
    assert api("legal").post(take, {"shift": shift}, format="json").status_code == 403
    assert api("admin").post(take, {"shift": shift}, format="json").status_code == 403  # no member
    engineer = api("engineer")
    for body in ({}, {"shift": "soon"}, {"shift": 5}, {"shift": shift, "extra": 1}):
        answer = engineer.post(take, body, format="json")
        assert answer.status_code == 400 and "detail" in answer.json()
    odd = (dt.datetime.fromisoformat(shift) + dt.timedelta(minutes=1)).isoformat()
    assert engineer.post(take, {"shift": odd}, format="json").status_code == 400
    past = shifts(infra).shift(0).starts_at.isoformat()
    assert engineer.post(take, {"shift": past}, format="json").status_code == 409
    for edge in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00"):
        assert engineer.post(take, {"shift": edge}, format="json").status_code in (400, 409)
    assert (
        engineer.post("/api/oncall/999999/take/", {"shift": shift}, format="json").status_code
        == 404
    )
    answer = engineer.post(take, "not json", content_type="application/json")
    assert answer.status_code == 400
    infra.active = False
    infra.save()
    assert engineer.post(take, {"shift": shift}, format="json").status_code == 409
    assert not RotationOverride.objects.exists()


def test_anonymous_callers_are_refused(infra):
    assert client_for(None).get("/api/oncall/").status_code == 401


def test_a_swap_needs_another_members_shift(api, users, infra):
    swap = f"/api/oncall/{infra.pk}/swap/"
    mine, bahars = upcoming(infra, "engineer"), upcoming(infra, "bahar")
    engineer = api("engineer")
    same = engineer.post(swap, {"shift": mine, "with_shift": mine}, format="json")
    assert same.status_code == 409
    # An admin put someone from outside the rotation on Bahar's shift: no swap with them.
    outsider = make_user("dara", "engineer")
    starts = dt.datetime.fromisoformat(bahars)
    RotationOverride.objects.create(
        rotation=infra, user=outsider, starts_at=starts, ends_at=starts + dt.timedelta(weeks=1)
    )
    answer = engineer.post(swap, {"shift": mine, "with_shift": bahars}, format="json")
    assert answer.status_code == 409
    assert answer.json()["detail"] == "Shifts are swapped with engineers of the same rotation."
    assert RotationOverride.objects.count() == 1
