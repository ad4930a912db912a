"""Every transition and guard, driven through apply_transition (the one domain function)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from incidents.errors import (
    InvalidChange,
    RequirementsMissing,
    RoleForbidden,
    StateConflict,
    UnknownTransition,
)
from incidents.lifecycle import (
    apply_transition,
    create_incident,
    ready_transitions,
    transition_options,
    update_incident,
)
from incidents.models import Event, Incident, Referral
from tests.conftest import SCOPE, complete_required_tasks, finish_review

pytestmark = pytest.mark.django_db


def test_start_scoping_makes_the_actor_commander_when_none(incident_in, engineer):
    incident = incident_in("detected")
    incident, event = apply_transition(incident, "start_scoping", actor=engineer)
    assert incident.state == "scoping"
    assert incident.commander == engineer
    assert incident.scoping_started_at is not None
    assert (event.kind, event.from_state, event.to_state) == (
        "start_scoping",
        "detected",
        "scoping",
    )


def test_the_domain_refuses_to_log_or_edit_for_a_reader(incident_in, users):
    """The roles rule lives in create_incident / update_incident, not only in the views."""
    incident = incident_in("scoping")
    incidents, events = Incident.objects.count(), Event.objects.count()
    with pytest.raises(RoleForbidden):
        create_incident(actor=users["executive"], data={"title": "t", "severity": "low"})
    with pytest.raises(RoleForbidden):
        create_incident(actor=users["legal"], data={"title": "t", "severity": "low"})
    with pytest.raises(RoleForbidden):
        update_incident(incident, actor=users["executive"], changes={"title": "Renamed"})
    assert (Incident.objects.count(), Event.objects.count()) == (incidents, events)
    incident.refresh_from_db()
    assert incident.title != "Renamed"
    incident, _ = update_incident(incident, actor=users["legal"], changes={"title": "Renamed"})
    assert incident.title == "Renamed"


def test_start_scoping_keeps_an_existing_commander(incident_in, users):
    incident = incident_in("detected", commander=users["admin"])
    incident, _ = apply_transition(incident, "start_scoping", actor=users["engineer"])
    assert incident.commander == users["admin"]


def test_start_restoration_names_each_missing_scope_field(incident_in, engineer):
    incident = incident_in("scoping")
    complete_required_tasks(incident, engineer)  # the runbook's gate: tests/workspace/
    with pytest.raises(RequirementsMissing) as err:
        apply_transition(incident, "start_restoration", actor=engineer)
    assert err.value.missing == ["attack_vector", "affected_systems", "affected_subjects_estimate"]
    incident, _ = update_incident(
        incident, actor=engineer, changes={"attack_vector": "undetermined"}
    )
    with pytest.raises(RequirementsMissing) as err:
        apply_transition(incident, "start_restoration", actor=engineer)
    assert err.value.missing == ["affected_systems", "affected_subjects_estimate"]


def test_undetermined_vector_and_zero_subjects_satisfy_the_scope_guard(incident_in, engineer):
    incident = incident_in("scoping")
    changes = {
        "attack_vector": "undetermined",
        "affected_systems": [{"name": "crm", "hosting": "provider"}],
        "affected_subjects_estimate": 0,
    }
    incident, _ = update_incident(incident, actor=engineer, changes=changes)
    complete_required_tasks(incident, engineer)
    incident, _ = apply_transition(incident, "start_restoration", actor=engineer)
    assert incident.state == "restoring" and incident.restoring_started_at


def test_mark_restored_needs_a_summary_given_now_or_before(incident_in, engineer):
    incident = incident_in("restoring")
    complete_required_tasks(incident, engineer)
    with pytest.raises(RequirementsMissing) as err:
        apply_transition(incident, "mark_restored", actor=engineer)
    assert err.value.missing == ["restoration_summary"]
    incident, _ = apply_transition(
        incident, "mark_restored", actor=engineer, payload={"restoration_summary": "Rebuilt."}
    )
    assert incident.state == "restored" and incident.restoration_summary == "Rebuilt."


def test_refer_needs_a_referral_and_creates_a_submitted_one(incident_in, legal):
    incident = incident_in("restored")
    with pytest.raises(RequirementsMissing) as err:
        apply_transition(incident, "refer", actor=legal)
    assert err.value.missing == ["authority", "submitted_at"]
    submitted = timezone.now()
    incident, event = apply_transition(
        incident,
        "refer",
        actor=legal,
        payload={
            "authority": "cybercrime_prosecutor",
            "submitted_at": submitted,
            "case_number": "9",
        },
    )
    referral = Referral.objects.get(incident=incident)
    assert incident.state == "referred" and incident.referred_at
    assert (referral.state, referral.case_number, referral.submitted_at) == (
        "submitted",
        "9",
        submitted,
    )
    assert event.data["authority"] == "cybercrime_prosecutor"


def test_refer_without_submitted_at_is_refused_and_writes_nothing(incident_in, legal):
    incident = incident_in("restored")
    with pytest.raises(RequirementsMissing) as err:
        apply_transition(incident, "refer", actor=legal, payload={"authority": "cyber_police"})
    assert err.value.missing == ["submitted_at"]
    assert not Referral.objects.exists()


def test_refer_with_a_submission_before_the_detection_is_refused_and_writes_nothing(
    incident_in, legal
):
    incident = incident_in("restored")
    events = Event.objects.count()
    early = incident.detected_at - dt.timedelta(minutes=1)
    with pytest.raises(InvalidChange) as err:
        apply_transition(
            incident,
            "refer",
            actor=legal,
            payload={"authority": "cyber_police", "submitted_at": early},
        )
    assert list(err.value.errors) == ["submitted_at"]
    incident.refresh_from_db()
    assert incident.state == "restored" and not incident.referrals.exists()
    assert Event.objects.count() == events


def test_close_after_referral_needs_no_reason(incident_in, legal):
    incident = incident_in("referred")
    finish_review(incident, legal)
    incident, _ = apply_transition(incident, "close", actor=legal)
    assert incident.state == "closed" and incident.closed_at and incident.no_referral_reason == ""


def test_close_without_referral_needs_legal_reason(incident_in, legal):
    incident = incident_in("restored")
    finish_review(incident, legal)
    with pytest.raises(RequirementsMissing) as err:
        apply_transition(incident, "close", actor=legal)
    assert err.value.missing == ["reason"]
    incident, _ = apply_transition(
        incident, "close", actor=legal, payload={"reason": "No personal data left the company."}
    )
    assert incident.state == "closed"
    assert incident.no_referral_reason == "No personal data left the company."


def test_closing_again_after_a_reopen_needs_a_new_reason(incident_in, users):
    """The first closing's reason must not silently serve the second (it stays in the log)."""
    legal, engineer, admin = users["legal"], users["engineer"], users["admin"]
    incident = incident_in("restored", severity="low")  # closes without a review
    reason = {"reason": "No personal data left the company."}
    incident, _ = apply_transition(incident, "close", actor=legal, payload=reason)
    incident, _ = apply_transition(incident, "reopen", actor=admin, payload={"reason": "x"})
    assert incident.no_referral_reason == ""
    for name in ("start_restoration", "mark_restored"):
        incident, _ = apply_transition(incident, name, actor=engineer)
    with pytest.raises(RequirementsMissing) as err:
        apply_transition(incident, "close", actor=legal)
    assert err.value.missing == ["reason"]
    assert Event.objects.filter(incident=incident, kind="close", data=reason).exists()


@pytest.mark.parametrize("state", ["detected", "scoping"])
def test_dismiss_needs_a_reason(incident_in, engineer, state):
    incident = incident_in(state)
    with pytest.raises(RequirementsMissing) as err:
        apply_transition(incident, "dismiss", actor=engineer)
    assert err.value.missing == ["reason"]
    incident, event = apply_transition(
        incident, "dismiss", actor=engineer, payload={"reason": "test"}
    )
    assert incident.state == "dismissed" and incident.dismissed_at
    assert event.data == {"reason": "test"}


def test_engineer_reopens_dismissed_but_only_admin_reopens_closed(incident_in, users):
    dismissed = incident_in("dismissed")
    reopened, _ = apply_transition(
        dismissed, "reopen", actor=users["engineer"], payload={"reason": "new evidence"}
    )
    assert reopened.state == "scoping" and reopened.dismissed_at is None
    closed = incident_in("closed")
    with pytest.raises(RoleForbidden):
        apply_transition(closed, "reopen", actor=users["engineer"], payload={"reason": "x"})
    reopened, _ = apply_transition(closed, "reopen", actor=users["admin"], payload={"reason": "x"})
    assert reopened.state == "scoping"


def test_wrong_state_is_a_conflict_naming_what_is_allowed(incident_in, engineer):
    incident = incident_in("detected")
    with pytest.raises(StateConflict) as err:
        apply_transition(incident, "mark_restored", actor=engineer)
    assert err.value.state == "detected"
    assert sorted(err.value.allowed) == ["dismiss", "start_scoping"]


def test_unknown_transition_name(incident_in, engineer):
    with pytest.raises(UnknownTransition):
        apply_transition(incident_in("detected"), "delete", actor=engineer)


def test_failed_transition_changes_nothing(incident_in, engineer):
    incident = incident_in("scoping")
    before = Event.objects.count()
    with pytest.raises(RequirementsMissing):
        apply_transition(incident, "start_restoration", actor=engineer)
    incident.refresh_from_db()
    assert (incident.state, incident.version) == ("scoping", 2)
    assert Event.objects.count() == before


def test_each_change_bumps_version_by_one(incident_in, engineer):
    incident = incident_in("detected")
    assert incident.version == 1
    incident, _ = apply_transition(incident, "start_scoping", actor=engineer)
    assert incident.version == 2
    incident, _ = update_incident(incident, actor=engineer, changes={"title": "Renamed"})
    assert incident.version == 3


def test_options_list_blocked_transitions_with_missing_fields(incident_in, engineer):
    options = {o.name: o.missing for o in transition_options(incident_in("scoping"), engineer)}
    assert options == {
        "start_restoration": (
            "attack_vector",
            "affected_systems",
            "affected_subjects_estimate",
            "tasks",  # the runbook's required task to preserve the logs
        ),
        "dismiss": (),
    }


def test_ready_transitions_need_nothing_typed_and_every_guard_met(incident_in, users):
    def ready(state: str, role: str, **fields: Any) -> list[str]:
        return ready_transitions(incident_in(state, **fields), users[role])

    assert ready("detected", "engineer") == ["start_scoping"]  # dismiss needs a reason
    assert ready("detected", "executive") == ready("detected", "legal") == []
    assert ready("scoping", "engineer") == []  # the scope is not written down yet
    assert ready("scoping", "engineer", **SCOPE) == []  # the runbook's required tasks
    scoped = incident_in("scoping", **SCOPE)
    complete_required_tasks(scoped, users["engineer"])
    assert ready_transitions(scoped, users["engineer"]) == ["start_restoration"]
    assert ready("restored", "legal") == []  # refer needs a referral, close a reason
    assert ready("referred", "legal") == []  # a high incident closes on a finished review
    low = {"severity": "low"}
    assert ready("referred", "legal", **low) == ready("referred", "admin", **low) == ["close"]
    assert ready("referred", "engineer") == []


def test_state_cannot_be_assigned_directly(incident_in):
    incident = incident_in("detected")
    with pytest.raises(AttributeError):
        incident.state = "closed"
