"""Need to know in Telegram: a restricted incident's alerts reach only its members, its
commander and admins, and the bot answers nobody else about it (/status, /open, buttons)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from incidents.legal.obligations import seed_rules
from incidents.lifecycle import apply_transition, create_incident, update_incident
from incidents.need_to_know import change_restriction
from notifier.models import Delivery
from notifier.reminders import enqueue_reminders
from notifier.subscriptions import follow
from tests.conftest import make_user
from tests.notifier.conftest import link
from tests.notifier.test_webhook_and_commands import command, press_ack

MISSING = "INC-2099-9999"


@pytest.fixture
def secret(
    users: dict[str, Any], linked: dict[str, Any], run_worker: Any, fake_telegram: Any
) -> Any:
    """A critical incident commanded by engineer2 (chat 1006), followed by engineer (1001),
    restricted to ``member`` (an executive, chat 1007); executive (1003) and legal (1002) are
    outside it. Its creation alerts are sent and forgotten."""
    users["member"] = make_user("member", "executive")
    linked["member"] = link(users["member"], 1007)
    incident, _ = create_incident(
        actor=users["admin"], data={"title": "Insider exfiltration", "severity": "critical"}
    )
    incident, _ = update_incident(
        incident, actor=users["admin"], changes={"commander": users["engineer2"]}
    )
    follow(users["engineer"], incident)
    incident, _ = change_restriction(
        incident, actor=users["engineer2"], restricted=True, members=["member"]
    )
    run_worker()
    fake_telegram.calls.clear()
    return incident


def chats_of(fake: Any) -> list[int]:
    return sorted(int(c.params["chat_id"]) for c in fake.sent())


def test_alerts_of_a_restricted_incident_reach_only_its_audience(
    secret, users, run_worker, fake_telegram
):
    apply_transition(secret, "start_scoping", actor=users["admin"])
    run_worker()
    # Unrestricted, the follower (1001) and the executive (1003) would hear it too.
    assert chats_of(fake_telegram) == [1006, 1007]


def test_lifting_the_restriction_brings_everyone_back(secret, users, run_worker, fake_telegram):
    change_restriction(secret, actor=users["admin"], restricted=False)
    apply_transition(secret, "start_scoping", actor=users["admin"])
    run_worker()
    assert chats_of(fake_telegram) == [1001, 1003, 1006, 1007]


def test_status_and_open_answer_non_members_as_for_a_missing_incident(secret, tg_settings):
    for chat in (1001, 1002, 1003):  # engineer (its follower), legal, executive
        assert command(f"/status {secret.reference}", chat) == command(f"/status {MISSING}", chat)
        assert secret.reference not in command("/open", chat)
    for chat in (1004, 1006, 1007):  # admin, commander, member
        assert secret.reference in command(f"/status {secret.reference}", chat)
        assert secret.reference in command("/open", chat)


def test_buttons_of_a_hidden_incident_do_nothing(secret, users, tg_settings):
    hidden = press_ack(secret.reference, 1001).json()
    absent = press_ack(MISSING, 1001).json()
    assert hidden["text"] == absent["text"]
    assert not secret.events.filter(kind="acknowledged").exists()
    press_ack(secret.reference, 1006)
    assert secret.events.filter(kind="acknowledged", actor_username="engineer2").exists()


def test_deadline_reminders_of_a_restricted_incident_reach_only_member_lawyers(
    users, linked, incident_in, tg_settings
):
    seed_rules()
    users["counsel"] = make_user("counsel", "legal")
    link(users["counsel"], 1008)
    now = timezone.now()
    incident = incident_in("restoring", aware_at=now, detected_at=now)
    change_restriction(incident, actor=users["admin"], restricted=True, members=["counsel"])
    assert enqueue_reminders(now + dt.timedelta(minutes=1)) >= 1
    chats = set(Delivery.objects.filter(kind="reminder").values_list("chat_id", flat=True))
    assert chats == {1008}  # not legal (1002), who is outside it
