"""Tasks over Telegram: a task assigned to someone is an alert to them alone, through the outbox;
``/tasks`` lists the sender's open tasks."""

from __future__ import annotations

import pytest

from core.models import Profile
from incidents.workspace.tasks import add_task, set_task_done, update_task
from notifier.models import Delivery
from notifier.outbox import derive_deliveries
from tests.conftest import make_user
from tests.notifier.conftest import link
from tests.notifier.test_webhook_and_commands import command

pytestmark = pytest.mark.django_db


def _only_task_deliveries(incident):
    derive_deliveries()
    return list(Delivery.objects.filter(incident=incident, kind__startswith="task."))


def test_assigning_a_task_alerts_the_assignee_only(users, linked, incident_in, tg_settings):
    incident = incident_in("scoping")
    derive_deliveries()
    task, _ = add_task(incident, actor=users["admin"], data={"title": "Pull the VPN logs"})
    assert _only_task_deliveries(incident) == []  # nobody is assigned yet
    update_task(task, actor=users["admin"], changes={"assignee": users["engineer2"]})
    rows = _only_task_deliveries(incident)
    assert [(r.chat_id, r.kind, r.user) for r in rows] == [
        (1006, "task.updated", users["engineer2"])
    ]
    assert "Pull the VPN logs" in rows[0].text and incident.reference in rows[0].text
    assert "A task for you" in rows[0].text


def test_a_new_task_assigned_at_once_alerts_and_self_assignment_does_not(
    users, linked, incident_in, tg_settings
):
    incident = incident_in("scoping")
    derive_deliveries()
    add_task(
        incident,
        actor=users["engineer"],
        data={"title": "Mine", "assignee": users["engineer"]},
    )
    add_task(
        incident,
        actor=users["engineer"],
        data={"title": "Theirs", "assignee": users["admin"]},
    )
    rows = _only_task_deliveries(incident)
    assert [(r.chat_id, r.kind) for r in rows] == [(1004, "task.added")]


def test_task_alert_scrubs_pasted_personal_data(users, linked, incident_in, tg_settings):
    incident = incident_in("scoping")
    derive_deliveries()
    add_task(
        incident,
        actor=users["admin"],
        data={"title": "Call 0912 345 6789 about a@example.com", "assignee": users["engineer"]},
    )
    (row,) = _only_task_deliveries(incident)
    assert "0912" not in row.text and "a@example.com" not in row.text
    assert "Call" in row.text


def test_runbook_task_alert_speaks_the_assignees_language(users, linked, incident_in, tg_settings):
    Profile.objects.update_or_create(user=users["engineer"], defaults={"language": "fa"})
    incident = incident_in("scoping")
    derive_deliveries()
    task = incident.tasks.get(step__attack_vector="", required=True)
    update_task(task, actor=users["admin"], changes={"assignee": users["engineer"]})
    (row,) = _only_task_deliveries(incident)
    assert task.step.title_fa in row.text


def test_tasks_command_lists_the_senders_open_tasks(users, linked, incident_in, tg_settings):
    incident = incident_in("scoping")
    mine, _ = add_task(
        incident, actor=users["admin"], data={"title": "Rotate keys", "assignee": users["engineer"]}
    )
    done, _ = add_task(
        incident, actor=users["admin"], data={"title": "Old news", "assignee": users["engineer"]}
    )
    set_task_done(done, actor=users["engineer"])
    add_task(incident, actor=users["admin"], data={"title": "Not mine", "assignee": users["admin"]})
    reply = command("/tasks", 1001)
    assert incident.reference in reply and "Rotate keys" in reply
    assert "Old news" not in reply and "Not mine" not in reply
    assert "No open tasks" in command("/tasks", 1006)


def test_tasks_command_hides_tasks_of_incidents_the_sender_no_longer_reads(
    users, incident_in, tg_settings
):
    outsider = make_user("outsider", "engineer")
    link(outsider, 2001)
    incident = incident_in("scoping")
    add_task(incident, actor=users["admin"], data={"title": "Secret work", "assignee": outsider})
    from incidents.need_to_know import change_restriction

    change_restriction(incident, actor=users["admin"], restricted=True, members=["admin"])
    assert "Secret work" not in command("/tasks", 2001)
    assert "/tasks" in command("/help", 2001)
