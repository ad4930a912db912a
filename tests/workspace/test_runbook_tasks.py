"""Runbook tasks: entering a phase adds them, a new attack vector swaps them, required ones gate
the phase's end, and a second engineer confirms the fix."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from incidents.choices import AttackVector
from incidents.errors import EditNotAllowed, InvalidChange, RequirementsMissing
from incidents.lifecycle import apply_transition, update_incident
from incidents.models import Event, RunbookStep, Task
from incidents.workspace.tasks import (
    TaskNotDeletable,
    add_task,
    delete_task,
    set_task_done,
    task_title,
)
from tests.conftest import SCOPE, complete_required_tasks

pytestmark = pytest.mark.django_db


def _titles(incident, phase=None):
    tasks = incident.tasks.all() if phase is None else incident.tasks.filter(phase=phase)
    return set(tasks.values_list("title", flat=True))


def test_every_attack_vector_has_a_seeded_runbook_in_both_languages():
    for vector in AttackVector.values:
        steps = RunbookStep.objects.filter(attack_vector=vector)
        assert 2 <= steps.count() <= 4, vector
        assert all(s.title_fa and s.title_en for s in steps)
    general = RunbookStep.objects.filter(attack_vector="")
    assert general.filter(phase="scoping", required=True).exists()
    assert general.filter(phase="restoring", required=True, confirms=True).exists()


def test_entering_scoping_adds_general_and_vector_steps_in_the_same_event(incident_in, engineer):
    incident = incident_in("detected", attack_vector="third_party")
    incident, event = apply_transition(incident, "start_scoping", actor=engineer)
    expected = RunbookStep.objects.filter(phase="scoping", attack_vector__in=["", "third_party"])
    assert _titles(incident) == set(expected.values_list("title_en", flat=True))
    assert "Ask the provider for its access logs" in _titles(incident)
    added = event.data["tasks_added"]
    assert {t["id"] for t in added} == set(incident.tasks.values_list("id", flat=True))
    assert Event.objects.filter(incident=incident, kind__startswith="task.").count() == 0


def test_entering_restoring_adds_that_phases_steps(incident_in):
    incident = incident_in("restoring")
    restoring = _titles(incident, "restoring")
    assert "Confirm the fix with a second engineer" in restoring
    assert "Block the sender's domain and the links in the message" in restoring
    event = incident.events.get(kind="start_restoration")
    assert {t["title"] for t in event.data["tasks_added"]} == restoring


def test_setting_the_vector_swaps_its_open_runbook_tasks(incident_in, engineer):
    incident = incident_in("scoping", attack_vector="malware")
    isolate = incident.tasks.get(title="Isolate the infected hosts from the network")
    set_task_done(isolate, actor=engineer)
    incident, event = update_incident(
        incident, actor=engineer, changes={"attack_vector": "credential_stuffing"}
    )
    titles = _titles(incident)
    assert "Isolate the infected hosts from the network" in titles  # done work stays
    assert "Collect samples and indicators of compromise" not in titles
    assert "Find the accounts signed in to from the attacking addresses" in titles
    # only phases reached: restoring steps come with restoring
    assert not incident.tasks.filter(phase="restoring").exists()
    assert [t["title"] for t in event.data["tasks_removed"]] == [
        "Collect samples and indicators of compromise"
    ]
    assert event.data["tasks_added"]


def test_runbook_tasks_are_added_once(incident_in, engineer):
    incident = incident_in("scoping", attack_vector="phishing")
    count = incident.tasks.count()
    incident, _ = update_incident(incident, actor=engineer, changes={"summary": "more"})
    incident, _ = apply_transition(incident, "dismiss", actor=engineer, payload={"reason": "x"})
    incident, event = apply_transition(incident, "reopen", actor=engineer, payload={"reason": "y"})
    assert incident.tasks.count() == count
    assert "tasks_added" not in event.data
    step = incident.tasks.filter(step__isnull=False).first().step
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(incident=incident, step=step, title="again", phase="scoping")


def test_open_required_tasks_block_restoration_and_are_listed(incident_in, engineer, users):
    incident = incident_in("scoping")
    incident, _ = update_incident(incident, actor=engineer, changes=SCOPE)
    with pytest.raises(RequirementsMissing) as refused:
        apply_transition(incident, "start_restoration", actor=engineer)
    assert refused.value.missing == ["tasks"]
    listed = refused.value.extra["tasks"]
    assert {t["id"] for t in listed} == set(
        incident.tasks.required_open().values_list("id", flat=True)
    )
    complete_required_tasks(incident, engineer, second=users["admin"])
    incident, _ = apply_transition(incident, "start_restoration", actor=engineer)
    assert incident.state == "restoring"


def test_mark_restored_waits_for_the_second_engineers_confirmation(incident_in, engineer, users):
    incident = incident_in("restoring")
    confirm = incident.tasks.get(confirms=True)
    for task in incident.tasks.required_open().filter(confirms=False):
        set_task_done(task, actor=engineer)
    with pytest.raises(RequirementsMissing) as refused:
        apply_transition(
            incident, "mark_restored", actor=engineer, payload={"restoration_summary": "Fixed."}
        )
    assert [t["id"] for t in refused.value.extra["tasks"]] == [confirm.pk]
    with pytest.raises(InvalidChange) as same_person:
        set_task_done(confirm, actor=engineer)
    assert "done" in same_person.value.errors
    set_task_done(confirm, actor=users["admin"])
    incident, _ = apply_transition(
        incident, "mark_restored", actor=engineer, payload={"restoration_summary": "Fixed."}
    )
    assert incident.state == "restored"


def test_the_second_engineer_rule_can_be_switched_off(incident_in, engineer, settings):
    settings.RESTORE_NEEDS_SECOND_ENGINEER = False
    incident = incident_in("restoring")
    for task in incident.tasks.required_open().order_by("confirms"):
        set_task_done(task, actor=engineer)
    assert not incident.tasks.required_open().exists()


def test_a_runbooks_required_task_is_done_not_deleted(incident_in, engineer):
    incident = incident_in("scoping")
    required = incident.tasks.filter(step__isnull=False, required=True).first()
    with pytest.raises(TaskNotDeletable):
        delete_task(required, actor=engineer)
    optional = incident.tasks.filter(step__isnull=False, required=False).first()
    event = delete_task(optional, actor=engineer)
    assert event.kind == "task.deleted"
    assert not Task.objects.filter(pk=optional.pk).exists()


def test_own_required_task_gates_too(incident_in, engineer, users):
    incident = incident_in("scoping")
    complete_required_tasks(incident, engineer, second=users["admin"])
    own, event = add_task(
        incident, actor=engineer, data={"title": "Call the hosting company", "required": True}
    )
    assert (event.kind, event.data["task"]) == ("task.added", {"id": own.pk, "title": own.title})
    incident, _ = update_incident(incident, actor=engineer, changes=SCOPE)
    with pytest.raises(RequirementsMissing):
        apply_transition(incident, "start_restoration", actor=engineer)


def test_closed_incidents_tasks_do_not_change(incident_in, engineer):
    incident = incident_in("dismissed")
    with pytest.raises(EditNotAllowed):
        add_task(incident, actor=engineer, data={"title": "Too late"})


def test_runbook_task_titles_follow_the_readers_language(incident_in):
    incident = incident_in("scoping")
    task = incident.tasks.select_related("step").get(step__required=True, step__attack_vector="")
    assert task_title(task, "en") == "Preserve logs and snapshots before anything is changed"
    assert task_title(task, "fa") == "پیش از هر تغییری، لاگ‌ها و اسنپ‌شات‌ها را حفظ کنید"
