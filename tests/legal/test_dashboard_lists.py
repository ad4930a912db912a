"""The dashboard's legal deadlines, dead deliveries and overdue follow-ups are kept for the
minute across the quiet events of a breach's log (notes, status updates, title edits) and read
again after any other: an edit that moved a deadline, a change of commander, a restriction
(frontend/panels.py ``kept_parts``, ``Event.objects.that_move_lists``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.cache import cache, caches
from django.utils import timezone, translation

from frontend import metrics, panels
from incidents.lifecycle import update_incident
from incidents.models import Event, Notice
from incidents.need_to_know import change_restriction
from incidents.notes import add_note
from incidents.workspace.updates import post_update
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def one_minute_counting(monkeypatch: Any, reading: str) -> list[int]:
    """Every render in one minute (the kept parts' key names it), and each call of
    ``metrics.<reading>`` counted."""
    later = timezone.now()
    monkeypatch.setattr(panels.timezone, "now", lambda: later)
    calls: list[int] = []
    real = getattr(metrics, reading)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(metrics, reading, counted)
    return calls


def test_deadlines_are_kept_across_quiet_events_and_read_after_the_others(
    rules, users, incident_in, monkeypatch
):
    aware = timezone.now() - dt.timedelta(hours=2)
    incident = incident_in("restoring", aware_at=aware, detected_at=aware)
    reads = one_minute_counting(monkeypatch, "next_deadlines")
    variant = panels.variant_of(users["legal"].pk, frozenset({"legal"}), "en", "UTC")

    def render() -> str:
        with translation.override("en"):
            return panels.render(variant, panels.stamp(variant.verifies()))

    def deadlines(html: str) -> str:
        return html.split('id="deadlines">')[1].split("</ul>")[0]

    def due_shown(html: str) -> set[str]:
        return {part.split('"')[0] for part in html.split('data-overdue-after="')[1:]}

    first = render()
    gdpr = incident.obligations.get(step_key="notify_authority").due_at
    assert gdpr.isoformat() in due_shown(first) and len(reads) == 1

    # The quiet events: kept.
    add_note(incident, actor=users["engineer"], text="looked at the logs")
    post_update(incident, actor=users["engineer"], body="Contained")
    incident, _ = update_incident(incident, actor=users["engineer"], changes={"title": "Renamed"})
    quiet = render()
    assert len(reads) == 1 and "Renamed" in quiet
    assert due_shown(quiet) >= {gdpr.isoformat()}

    # An edit that moved the deadlines (its event records them): read again, the new due time.
    earlier = aware - dt.timedelta(hours=5)
    incident, event = update_incident(
        incident, actor=users["legal"], changes={"aware_at": earlier, "detected_at": earlier}
    )
    assert "obligations" in event.data
    moved = render()
    assert len(reads) == 2
    assert (earlier + dt.timedelta(hours=72)).isoformat() in due_shown(moved)
    assert gdpr.isoformat() not in due_shown(moved)
    # What was kept is what a fresh reading shows (the list; the rows' "ago" moves on).
    again = render()
    cache.clear()
    caches["template_fragments"].clear()
    assert deadlines(render()) == deadlines(again) == deadlines(moved)
    assert len(reads) == 3
    reads.clear()

    # A new commander, a restriction (who reads the incident): read again.
    incident, event = update_incident(
        incident, actor=users["admin"], changes={"commander": make_user("second", "engineer")}
    )
    assert event is not None and "obligations" not in event.data
    render()
    assert len(reads) == 1
    change_restriction(incident, actor=users["admin"], restricted=True)
    render()
    assert len(reads) == 2
    # A new minute: read again.
    later = panels.timezone.now() + dt.timedelta(minutes=1)
    monkeypatch.setattr(panels.timezone, "now", lambda: later)
    render()
    assert len(reads) == 3


def test_which_events_move_the_lists(users, incident_in):
    incident = incident_in("scoping")
    start = Event.objects.latest("seq").seq
    add_note(incident, actor=users["engineer"], text="n")
    post_update(incident, actor=users["engineer"], body="u")
    update_incident(incident, actor=users["engineer"], changes={"title": "t"})
    quiet = Event.objects.filter(seq__gt=start)
    assert quiet.count() == 3 and not quiet.that_move_lists().exists()
    since = Event.objects.latest("seq").seq
    second = make_user("second", "engineer")
    update_incident(incident, actor=users["admin"], changes={"commander": second})
    change_restriction(incident, actor=users["admin"], restricted=True)
    moving = Event.objects.filter(seq__gt=since)
    assert moving.count() == moving.that_move_lists().count() == 2


def test_campaigns_listed_are_kept_their_progress_read_fresh(
    users, incident_in, legal2, monkeypatch
):
    """Which campaigns are in flight changes only by their transitions (events); how far each
    has gone changes without any, so it is read at every render."""
    from incidents.affected.campaigns import approve_campaign, draft_campaign
    from incidents.affected.register import add_person
    from incidents.affected.sending import advance_campaigns

    incident = incident_in("scoping", title="Leak")
    for n in range(3):
        person = {"customer_id": f"D-{n}", "email": f"d{n}@example.com", "language": "fa"}
        add_person(incident, person, actor=users["legal"])
    campaign, _ = draft_campaign(incident, actor=users["legal"])
    listed = one_minute_counting(monkeypatch, "campaign_ids_in_flight")
    variant = panels.variant_of(users["executive"].pk, frozenset({"executive"}), "en", "UTC")

    def campaigns() -> str:
        with translation.override("en"):
            html = panels.render(variant, panels.stamp(variant.verifies()))
        return html.split('id="campaigns-in-flight"')[1].split("</section>")[0]

    assert "No notice is being sent." in campaigns() and len(listed) == 1
    approve_campaign(campaign, actor=legal2)  # a transition: listed again
    approved = campaigns()
    assert f'data-campaign="{campaign.pk}"' in approved and len(listed) == 2
    add_note(incident, actor=users["engineer"], text="quiet")
    assert campaigns() == approved and len(listed) == 2
    advance_campaigns()  # starts sending (an event) and plans the three notices
    advance_campaigns()
    sending = campaigns()
    assert len(listed) == 3 and sending != approved
    add_note(incident, actor=users["engineer"], text="quiet again")
    Notice.objects.filter(campaign=campaign).update(status="sent")  # no event
    sent = campaigns()
    assert len(listed) == 3 and sent != sending  # kept list, fresh progress
    cache.clear()
    caches["template_fragments"].clear()
    assert campaigns() == sent
