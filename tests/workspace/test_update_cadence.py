"""The next status update is owed on a cadence by severity: set when an incident is logged, by
each update, moved by a severity change, cleared at closing; reminded once per due time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from incidents.errors import InvalidChange, RoleForbidden
from incidents.lifecycle import apply_transition, update_incident
from incidents.models import Event, StatusUpdate, UpdateCadence, UpdateReminder
from incidents.workspace.updates import UpdatesClosed, post_update, updates_due
from notifier.models import Delivery
from notifier.update_reminders import enqueue_update_reminders
from tests.notifier.conftest import linked as linked  # every role's chat linked

MINUTE = dt.timedelta(minutes=1)


def close_to(moment: dt.datetime | None, expected: dt.datetime) -> bool:
    return moment is not None and abs(moment - expected) < MINUTE


def test_a_new_incident_owes_its_first_update_a_cadence_after_logging(incident_in):
    critical = incident_in("detected", severity="critical")
    high = incident_in("detected", severity="high")
    low = incident_in("detected", severity="low")
    assert close_to(critical.next_update_at, critical.created_at + dt.timedelta(minutes=30))
    assert close_to(high.next_update_at, high.created_at + dt.timedelta(hours=2))
    assert low.next_update_at is None  # the seed gives low no cadence


def test_posting_an_update_records_an_event_and_owes_the_next_at_the_cadence(users, incident_in):
    incident = incident_in("scoping", severity="critical")
    version = incident.version
    update, event = post_update(incident, actor=users["engineer"], body="  We know little.  ")
    incident.refresh_from_db()
    assert update.body == "We know little."
    assert close_to(incident.next_update_at, timezone.now() + dt.timedelta(minutes=30))
    assert update.next_update_at == incident.next_update_at
    assert event.kind == "status_update"
    assert event.data["update"] == update.pk and event.data["body"] == "We know little."
    assert incident.version == version  # like a note: nobody's edit goes stale


def test_a_promised_time_overrides_the_cadence(users, incident_in):
    incident = incident_in("scoping", severity="critical")
    promised = timezone.now() + dt.timedelta(hours=3)
    post_update(incident, actor=users["legal"], body="Counsel engaged.", next_update_at=promised)
    incident.refresh_from_db()
    assert incident.next_update_at == promised


@pytest.mark.parametrize(
    "moment", [dt.timedelta(minutes=-1), dt.timedelta(days=31)], ids=["past", "too-far"]
)
def test_an_implausible_next_update_time_is_refused_and_writes_nothing(users, incident_in, moment):
    incident = incident_in("scoping")
    with pytest.raises(InvalidChange) as refused:
        post_update(
            incident, actor=users["engineer"], body="x", next_update_at=timezone.now() + moment
        )
    assert "next_update_at" in refused.value.errors
    assert not StatusUpdate.objects.exists()


def test_an_empty_body_is_refused(users, incident_in):
    with pytest.raises(InvalidChange) as refused:
        post_update(incident_in("scoping"), actor=users["engineer"], body="   ")
    assert "body" in refused.value.errors


def test_executives_may_not_post_updates(users, incident_in):
    with pytest.raises(RoleForbidden):
        post_update(incident_in("scoping"), actor=users["executive"], body="All fine.")


def test_closed_and_dismissed_incidents_take_no_updates_and_owe_none(users, incident_in):
    # Medium: closing a high or critical incident needs a finished review, beside the point.
    for state in ("closed", "dismissed"):
        incident = incident_in(state, severity="medium")
        assert incident.next_update_at is None
        with pytest.raises(UpdatesClosed):
            post_update(incident, actor=users["engineer"], body="Too late.")
    assert not Event.objects.filter(kind="status_update").exists()


def test_a_reopened_incident_owes_an_update_a_cadence_after_reopening(users, incident_in):
    incident = incident_in("dismissed", severity="critical")
    incident, _ = apply_transition(
        incident, "reopen", actor=users["engineer"], payload={"reason": "it was real"}
    )
    assert close_to(incident.next_update_at, timezone.now() + dt.timedelta(minutes=30))


def test_raising_the_severity_brings_the_next_update_forward(users, incident_in):
    incident = incident_in("scoping", severity="medium")  # owed a day after logging
    incident, _ = update_incident(
        incident, actor=users["engineer"], changes={"severity": "critical"}
    )
    assert close_to(incident.next_update_at, incident.created_at + dt.timedelta(minutes=30))


def test_lowering_the_severity_keeps_the_time_already_owed(users, incident_in):
    incident = incident_in("scoping", severity="critical")
    owed = incident.next_update_at
    incident, _ = update_incident(incident, actor=users["engineer"], changes={"severity": "medium"})
    assert incident.next_update_at == owed
    incident, _ = update_incident(incident, actor=users["engineer"], changes={"severity": "low"})
    assert incident.next_update_at is None  # no cadence and no promise made


def test_the_cadence_is_the_admins_to_change(users, incident_in):
    UpdateCadence.objects.filter(severity="high").update(minutes=10)
    incident = incident_in("detected", severity="high")
    assert close_to(incident.next_update_at, incident.created_at + dt.timedelta(minutes=10))


def test_an_overdue_update_reminds_the_commander_once(users, linked, incident_in):
    incident = incident_in("scoping", severity="critical")  # the engineer commands it
    later = incident.next_update_at + MINUTE
    assert enqueue_update_reminders(incident.next_update_at - MINUTE) == 0
    assert enqueue_update_reminders(later) == 1
    assert enqueue_update_reminders(later) == 0  # once per due time
    (reminder,) = Delivery.objects.filter(kind="update_reminder")
    assert reminder.chat_id == 1001 and reminder.incident_id == incident.pk
    # In the commander's language (Persian, the default): reference, title of the reminder.
    assert incident.reference in reminder.text and "موعد گزارش وضعیت" in reminder.text
    # A new update owes a new time, which is reminded again when it passes.
    update, _ = post_update(incident, actor=users["engineer"], body="Contained.")
    assert enqueue_update_reminders(update.next_update_at + MINUTE) == 1
    assert UpdateReminder.objects.filter(incident=incident).count() == 2


def test_without_a_commander_admins_are_reminded(users, linked, incident_in):
    incident = incident_in("detected", severity="critical")
    assert incident.commander_id is None
    assert enqueue_update_reminders(incident.next_update_at + MINUTE) == 1
    assert Delivery.objects.get(kind="update_reminder").chat_id == 1004


def test_closed_incidents_are_never_reminded(users, linked, incident_in):
    incident = incident_in("closed", severity="medium")
    assert updates_due(timezone.now() + dt.timedelta(days=2)) == []
    assert enqueue_update_reminders(timezone.now() + dt.timedelta(days=2)) == 0
    assert not UpdateReminder.objects.filter(incident=incident).exists()


def test_admins_edit_the_cadence_and_only_read_updates_in_the_admin(users, incident_in):
    from tests.frontend.helpers import browser

    post_update(incident_in("scoping"), actor=users["engineer"], body="Read-only here.")
    admin = browser(users["admin"])
    cadence = UpdateCadence.objects.get(severity="critical")
    changed = admin.post(f"/admin/incidents/updatecadence/{cadence.pk}/change/", {"minutes": "15"})
    assert changed.status_code == 302
    cadence.refresh_from_db()
    assert cadence.minutes == 15
    update = StatusUpdate.objects.get()
    assert admin.get(f"/admin/incidents/statusupdate/{update.pk}/change/").status_code == 200
    assert (
        admin.post(
            f"/admin/incidents/statusupdate/{update.pk}/change/", {"body": "edited"}
        ).status_code
        == 403
    )
    assert StatusUpdate.objects.get().body == "Read-only here."
