"""What one render of the dashboard's panels costs (issue 21): a number of queries that does not
grow with the incidents, the open rows read from their index, and the figures every reader
shares (counts, medians, restore months) reused until an event that may move them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone, translation

from frontend import metrics, panels
from incidents.lifecycle import apply_transition, update_incident
from incidents.models import Incident
from incidents.need_to_know import change_restriction
from incidents.notes import add_note

SEVERITIES = ("low", "medium", "high", "critical")


def grow(incident_in, users, n: int) -> None:
    """``n`` incidents of each shape the panels read: open in every severity, restricted ones
    with and without a member, restored within the windows, closed."""
    for i in range(n):
        incident_in("detected", severity=SEVERITIES[i % 4], title=f"open {i}")
        restricted = incident_in("scoping", title=f"restricted {i}")
        change_restriction(
            restricted,
            actor=users["admin"],
            restricted=True,
            members=["engineer"] if i % 2 else [],
        )
        incident_in("restored", detected_at=timezone.now() - dt.timedelta(hours=2 + i))
        incident_in("closed")


def render_for(user, role: str) -> tuple[panels.Variant, panels.Stamp]:
    variant = panels.variant_of(user.pk, frozenset({role}), "en", "Asia/Tehran")
    return variant, panels.stamp(variant.verifies())


@pytest.mark.parametrize("role", ["executive", "engineer", "admin"])
def test_a_render_costs_the_same_queries_whatever_the_data(
    users, incident_in, role, monkeypatch, django_assert_max_num_queries
):
    """After a change that moves the figures (they are read again) and after one that does not
    (reused): the same number of queries at 2 and at 5 incidents of each shape. (The tests'
    cache is the database's: each kept entry written is five of these queries.)"""
    # One minute for every render (the figures' key names it), with figures already kept.
    later = timezone.now() + dt.timedelta(hours=1)
    monkeypatch.setattr(panels.timezone, "now", lambda: later)
    noted = incident_in("detected")
    grow(incident_in, users, 1)
    with translation.override("en"):
        panels.render(*render_for(users[role], role))
    moved, kept = [], []
    for more in (1, 3):  # 2, then 5 of each shape
        grow(incident_in, users, more)
        with translation.override("en"):
            with django_assert_max_num_queries(60) as first:
                panels.render(*render_for(users[role], role))
            add_note(noted, actor=users["engineer"], text="noted")
            with django_assert_max_num_queries(50) as second:
                html = panels.render(*render_for(users[role], role))
        moved.append(len(first.captured_queries))
        kept.append(len(second.captured_queries))
        assert f'id="open-total">{Incident.objects.open().count()}<' in html
    assert moved[0] == moved[1] and kept[0] == kept[1]
    assert kept[0] < moved[0]


def figures_read(monkeypatch) -> list[int]:
    """Counts each reading of the shared figures."""
    calls = []
    real = metrics.figures

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(metrics, "figures", counted)
    return calls


def dashboard_at(reader, now: dt.datetime) -> dict:
    at = panels.stamp(False)
    return metrics.dashboard(now, reader=reader, log=(at.seq, at.head))


def test_the_figures_are_reused_until_an_event_that_may_move_them(users, incident_in, monkeypatch):
    incident = incident_in("scoping", severity="low")
    restored = incident_in("restored", detected_at=timezone.now() - dt.timedelta(hours=3))
    spare = incident_in("detected")
    reads = figures_read(monkeypatch)
    now = timezone.now()
    reader = users["executive"]
    first = dashboard_at(reader, now)
    assert len(reads) == 1 and first["open_total"] == 3

    # A note: no count, median or restore month moves; the figures are reused.
    add_note(incident, actor=users["engineer"], text="looked at the logs")
    again = dashboard_at(reader, now)
    assert len(reads) == 1
    assert again["medians"] == first["medians"] and again["open_total"] == 3
    # Nor an edit of the title or the summary (the edit's event names the fields it changed).
    update_incident(incident, actor=users["engineer"], changes={"title": "renamed", "summary": "x"})
    assert dashboard_at(reader, now)["open_total"] == 3
    assert len(reads) == 1

    # A restriction moves who reads what: read again, and the executive's hidden count too.
    assert again["open_hidden"] == 0
    change_restriction(incident, actor=users["admin"], restricted=True)
    restricted = dashboard_at(reader, now)
    assert len(reads) == 2 and restricted["open_hidden"] == 1
    # A member added: their own count moves (the engineer commands it: reads it already).
    assert dashboard_at(users["engineer"], now)["open_hidden"] == 0
    assert dashboard_at(users["legal"], now)["open_hidden"] == 1
    change_restriction(incident, actor=users["admin"], members=["legal"])
    assert dashboard_at(users["legal"], now)["open_hidden"] == 0
    assert dashboard_at(reader, now)["open_hidden"] == 1
    reads.clear()

    # An edit of the severity moves the counts.
    update_incident(incident, actor=users["engineer"], changes={"severity": "critical"})
    edited = dashboard_at(reader, now)
    assert len(reads) == 1 and edited["critical_open"] == 1

    # An edit of the detection time moves a median.
    earlier = restored.detected_at - dt.timedelta(hours=5)
    update_incident(restored, actor=users["engineer"], changes={"detected_at": earlier})
    moved = dashboard_at(reader, now)
    assert len(reads) == 2
    assert moved["medians"]["restore"] == edited["medians"]["restore"] + dt.timedelta(hours=5)

    # A transition moves the counts by state.
    apply_transition(spare, "dismiss", actor=users["engineer"], payload={"reason": "no breach"})
    dismissed = dashboard_at(reader, now)
    assert len(reads) == 3 and dismissed["open_total"] == 2
    fresh = metrics.dashboard(now, reader=reader)
    for key in ("by_state", "all_states", "by_severity", "critical_open", "medians"):
        assert dismissed[key] == fresh[key]
    assert dismissed["restore_months"] == fresh["restore_months"]
    assert dismissed["open_hidden"] == fresh["open_hidden"] == 1

    # A new minute (the windows move) reads them again.
    dashboard_at(reader, now + dt.timedelta(minutes=1))
    assert len(reads) == 5  # the fresh reading above was one


def test_figures_kept_for_another_log_are_not_reused(users, incident_in, monkeypatch):
    """Same seq, another log (a database restored or rebuilt): its hash differs."""
    incident_in("detected")
    reads = figures_read(monkeypatch)
    now = timezone.now()
    at = panels.stamp(False)
    metrics.dashboard(now, reader=users["executive"], log=(at.seq, at.head))
    metrics.dashboard(now, reader=users["executive"], log=(at.seq, "0" * 16))
    assert len(reads) == 1  # a stamp's own head is only read, the kept one is checked
    key = next(iter(kept_keys(now)))
    from django.core.cache import cache

    kept = cache.get(key)
    cache.set(key, {**kept, "head": "f" * 16})
    metrics.dashboard(now, reader=users["executive"], log=(at.seq, at.head))
    assert len(reads) == 2


def closed_months_read(monkeypatch) -> list[int]:
    """Counts each reading of the closed restore months (every month but the current one)."""
    calls = []
    real = metrics._restore_medians

    def counted(bounds):
        calls.extend([1] if len(bounds) > 2 else [])
        return real(bounds)

    monkeypatch.setattr(metrics, "_restore_medians", counted)
    return calls


def test_the_closed_months_are_kept_until_a_restoration_or_a_detection_edit(
    users, incident_in, monkeypatch
):
    """A month that is over changes only when an incident restored in it is restored again or
    its detection time is edited: the transitions and other edits that move the counts and the
    90-day medians leave it kept, and what is kept is what a fresh reading finds."""
    # Seen from two months on, what is restored today lies in a closed month.
    later = timezone.now() + dt.timedelta(days=62)
    restored = incident_in("restored", detected_at=timezone.now() - dt.timedelta(hours=3))
    # Restored (and closed) 40 days ago: another month than a restoration today.
    before = timezone.now() - dt.timedelta(days=40)
    with monkeypatch.context() as past:
        past.setattr(timezone, "now", lambda: before)
        closed = incident_in("closed", detected_at=before - dt.timedelta(hours=1))
    spare = incident_in("detected")
    reads = closed_months_read(monkeypatch)
    reader = users["executive"]

    def bars_at() -> list[dict]:
        kept = dashboard_at(reader, later)["restore_months"]
        assert kept == metrics.restore_months(later)
        return kept

    first = bars_at()
    assert len(reads) == 2  # kept, and the fresh reading
    apply_transition(spare, "start_scoping", actor=users["engineer"], payload={})
    update_incident(restored, actor=users["engineer"], changes={"severity": "critical"})
    assert bars_at() == first and len(reads) == 3  # the fresh reading only

    earlier = restored.detected_at - dt.timedelta(hours=5)
    update_incident(restored, actor=users["engineer"], changes={"detected_at": earlier})
    edited = bars_at()
    assert len(reads) == 5 and edited != first

    # Reopened and restored again: it leaves the month it was first restored in.
    apply_transition(closed, "reopen", actor=users["admin"], payload={"reason": "not over"})
    for name in ("start_restoration", "mark_restored"):
        apply_transition(closed, name, actor=users["engineer"], payload={})
    again = bars_at()
    assert len(reads) == 7
    gone, came = [(a["n"], b["n"]) for a, b in zip(edited, again, strict=True) if a["n"] != b["n"]]
    assert gone[0] - 1 == gone[1] and came[0] + 1 == came[1]


def test_the_settled_states_counts_are_kept_until_one_of_their_transitions_or_a_severity_edit(
    users, incident_in
):
    """Referred, closed and dismissed incidents (most of the years' rows) are counted again
    only after a transition into or out of those states or an edit of a severity; what is kept
    is what a fresh count finds."""
    from django.core.cache import cache

    referred = incident_in("referred", severity="low")
    spare = incident_in("detected")
    now = timezone.now()
    reader = users["executive"]
    key = f"dashboard-settled-counts:0:{timezone.get_current_timezone_name()}"

    def counted() -> tuple[dict, int]:
        found = dashboard_at(reader, now)
        fresh = metrics.dashboard(now, reader=reader)
        for name in ("by_state", "all_states", "by_severity", "open_total", "critical_open"):
            assert found[name] == fresh[name]
        return found, cache.get(key)["seq"]

    first, read_at = counted()
    apply_transition(spare, "start_scoping", actor=users["engineer"], payload={})
    scoped, again = counted()
    assert again == read_at and scoped["all_states"] != first["all_states"]

    update_incident(referred, actor=users["engineer"], changes={"severity": "critical"})
    edited, read_at = counted()
    assert read_at > again and edited["critical_open"] == 1
    apply_transition(spare, "dismiss", actor=users["engineer"], payload={"reason": "no breach"})
    dismissed, again = counted()
    assert again > read_at and dismissed["open_total"] == 1


def test_a_readers_hidden_count_is_kept_across_transitions_of_unrestricted_incidents(
    users, incident_in
):
    secret = incident_in("scoping", title="secret")
    change_restriction(secret, actor=users["admin"], restricted=True)
    plain = incident_in("detected")
    now = timezone.now()
    reader = users["legal"]
    assert dashboard_at(reader, now)["open_hidden"] == 1
    from django.core.cache import cache

    key = f"dashboard-hidden:{now:%Y%m%d%H%M}:{reader.pk}:legal"
    read_at = cache.get(key)["seq"]
    apply_transition(plain, "start_scoping", actor=users["engineer"], payload={})
    assert dashboard_at(reader, now)["open_hidden"] == 1
    assert cache.get(key)["seq"] == read_at  # reused, not read again

    apply_transition(secret, "dismiss", actor=users["engineer"], payload={"reason": "no breach"})
    assert dashboard_at(reader, now)["open_hidden"] == 0 == metrics.open_hidden(reader)
    assert cache.get(key)["seq"] > read_at


def kept_keys(now: dt.datetime) -> list[str]:
    zone = timezone.get_current_timezone_name()
    return [f"dashboard-figures:{now:%Y%m%d%H%M}:0:{zone}"]


def test_open_rows_come_most_severe_first_from_their_index(users, incident_in):
    old = timezone.now() - dt.timedelta(days=2)
    for severity in SEVERITIES:
        incident_in("detected", severity=severity, title=f"new {severity}")
        incident_in("scoping", severity=severity, title=f"old {severity}", detected_at=old)
    incident_in("closed", severity="critical", title="closed critical")
    rows = metrics.open_incidents(timezone.now(), users["executive"])
    titles = [row.incident.title for row in rows]
    expected = [f"{age} {s}" for s in reversed(SEVERITIES) for age in ("old", "new")]
    assert titles == expected

    visible = Incident.objects.visible_to(users["engineer"]).filter(metrics.IsOpen())
    ordered = visible.order_by(metrics.SeverityRank().desc(), "detected_at")[:50]
    sql, params = ordered.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Tiny tables: the planner would scan and sort; what matters is that it may use it.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "incident_open_by_severity" in plan
    assert connection.vendor == "postgresql" or "TEMP B-TREE FOR ORDER BY" not in plan
