"""The dashboard's numbers, charts and live-update hooks."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from django.utils import timezone

from frontend import metrics, panels
from incidents.lifecycle import apply_transition, update_incident
from incidents.models import Incident
from incidents.need_to_know import change_restriction
from incidents.notes import add_note
from tests.conftest import make_user
from tests.frontend.helpers import browser


def test_dashboard_counts_open_incidents_by_state_and_severity(users, incident_in):
    incident_in("scoping", severity="critical")
    incident_in("scoping", severity="low")
    incident_in("restored", severity="critical")
    incident_in("closed", severity="critical")
    incident_in("dismissed")
    data = metrics.dashboard()
    by_state = {row["value"]: row["count"] for row in data["by_state"]}
    by_severity = {row["value"]: row["count"] for row in data["by_severity"]}
    assert by_state == {"detected": 0, "scoping": 2, "restoring": 0, "restored": 1, "referred": 0}
    assert by_severity == {"low": 1, "medium": 0, "high": 0, "critical": 2}
    assert data["critical_open"] == 2 and data["open_total"] == 3


def test_dashboard_page_shows_the_numbers(users, incident_in):
    incident_in("scoping", severity="critical")
    html = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
    assert re.search(r'id="critical-open">1<', html)
    assert re.search(r'data-state="scoping">.*?<td>1</td>', html, re.S)


def test_persian_dashboard_uses_persian_digits(users, incident_in):
    incident_in("scoping", severity="critical")
    html = browser(users["executive"]).get("/").content.decode()
    assert re.search(r'id="critical-open">۱<', html)


def test_open_incident_age_and_time_in_state(users, incident_in):
    detected = timezone.now() - dt.timedelta(hours=5)
    incident = incident_in("detected", detected_at=detected)
    apply_transition(incident, "start_scoping", actor=users["engineer"])
    now = timezone.now() + dt.timedelta(hours=1)
    (row,) = metrics.open_incidents(now, users["executive"])
    assert dt.timedelta(hours=5, minutes=59) < row.age <= dt.timedelta(hours=6, minutes=1)
    assert dt.timedelta(minutes=59) < row.in_state <= dt.timedelta(hours=1, minutes=1)


def test_medians_measure_from_detection_over_the_last_90_days(users, incident_in):
    for hours in (2, 4, 30):
        incident_in("restored", detected_at=timezone.now() - dt.timedelta(hours=hours))
    result = metrics.medians(timezone.now())
    assert abs(result["restore"].total_seconds() - 4 * 3600) < 120
    assert result["refer"] is None


def test_restore_chart_has_one_bar_per_recent_month(users, incident_in):
    incident_in("restored", detected_at=timezone.now() - dt.timedelta(hours=3))
    months = metrics.restore_months(timezone.now())
    assert len(months) == 6
    assert months[-1]["n"] == 1 and 2.9 < months[-1]["hours"] < 3.1


def test_dashboard_shows_latest_timeline_entries_and_charts(users, incident_in):
    incident = incident_in("restored")
    html = browser(users["executive"]).get("/").content.decode()
    latest = html.split('id="latest-events"')[1].split("</ol>")[0]
    assert incident.reference in latest
    assert html.count('<svg class="chart"') == 2


def test_dashboard_carries_the_seq_and_stream_addresses_for_the_live_script(users, incident_in):
    incident_in("scoping")
    html = browser(users["executive"]).get("/").content.decode()
    assert 'data-seq="2"' in html
    assert 'data-ws-path="/ws/dashboard/?lang=fa"' in html and 'data-feed="/api/events/"' in html
    assert 'src="/static/frontend/live.js"' in html
    assert 'id="live-labels" type="application/json"' in html


def test_htmx_refresh_gets_only_the_panels(users, incident_in):
    incident_in("scoping")
    response = browser(users["executive"]).get("/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="panels"') and "<html" not in html


def test_dead_telegram_deliveries_are_counted_on_the_dashboard(users, incident_in):
    from notifier.models import Delivery

    incident = incident_in("scoping")
    Delivery.objects.create(
        key="t1", kind="alert", incident=incident, chat_id=1, text="x", status=Delivery.DEAD
    )
    html = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
    assert re.search(r'id="dead-count">1<', html)


def test_dashboard_lists_the_most_severe_open_incidents_first(users, incident_in):
    low = incident_in("detected", severity="low")
    critical = incident_in("scoping", severity="critical")
    rows = metrics.open_incidents(timezone.now(), users["executive"])
    assert [r.incident.pk for r in rows] == [critical.pk, low.pk]
    first = metrics.open_incidents(timezone.now(), users["executive"], limit=1)
    assert [r.incident.pk for r in first] == [critical.pk]


def test_each_reader_has_a_query_of_their_own_built_once_and_read_anew(users, incident_in):
    """The open rows' and latest entries' queries are built once per reader (their roles and
    id) and read anew each time: one built for another reader of the same roles would show
    them the other's restricted incidents, one read once would not show a change."""
    public = incident_in("scoping")
    secret = incident_in("detected")
    change_restriction(secret, actor=users["admin"], restricted=True, members=["legal"])
    outsider = make_user("legal-outsider", "legal")
    now = timezone.now()

    def seen(reader: Any) -> tuple[set[int], set[int]]:
        rows = {row.incident.pk for row in metrics.open_incidents(now, reader)}
        return rows, {event.incident_id for event in metrics.latest_events(reader)}

    metrics._shaped.cache_clear()
    both = {public.pk, secret.pk}
    assert seen(users["legal"]) == (both, both)
    assert seen(outsider) == ({public.pk}, {public.pk})
    assert seen(users["legal"]) == (both, both)
    assert metrics._shaped.cache_info().misses == 4  # two readers, two queries each
    change_restriction(secret, actor=users["admin"], members=[])
    assert seen(users["legal"]) == ({public.pk}, {public.pk})
    later = incident_in("detected")
    assert seen(outsider)[0] == {public.pk, later.pk}
    assert metrics._shaped.cache_info().misses == 4


def test_persian_restore_chart_counts_jalali_months(users, incident_in):
    """1405/08/29 is 2026-11-20 and 1405/09/01 is 2026-11-22: Gregorian buckets put both in
    November and labelled it Aban, so every Persian bar was a month early."""
    from django.utils.translation import override

    from frontend.templatetags.frontend_tags import month

    tehran = timezone.get_current_timezone()
    now = dt.datetime(2026, 11, 25, 12, 0, tzinfo=tehran)
    for day in (20, 23):
        restored = dt.datetime(2026, 11, day, 12, 0, tzinfo=tehran)
        incident = incident_in("restored", detected_at=restored - dt.timedelta(hours=2))
        # mark_restored stamps now; the test needs restorations on two given days.
        Incident.objects.filter(pk=incident.pk).update(restored_at=restored)
    jalali = metrics.restore_months(now, jalali=True)
    with override("fa"):
        labels = [month(m["month"]) for m in jalali]
    assert labels[-2:] == ["۱۴۰۵/۰۸", "۱۴۰۵/۰۹"]
    assert [m["n"] for m in jalali[-2:]] == [1, 1]
    gregorian = metrics.restore_months(now)
    assert [m["month"] for m in gregorian[-1:]] == [dt.date(2026, 11, 1)]
    assert gregorian[-1]["n"] == 2


def test_deadlines_count_down_and_say_how_long_overdue():
    from django.utils.translation import override

    from frontend.templatetags.frontend_tags import countdown

    now = timezone.now()
    with override("en"):
        assert countdown(now + dt.timedelta(hours=5, minutes=20), now) == "in 5 hours 20 minutes"
        assert countdown(now - dt.timedelta(hours=2), now) == "2 hours overdue"
    with override("fa"):
        assert "۵" in countdown(now + dt.timedelta(hours=5), now)


def test_dashboard_deadline_panel_shows_the_countdown(users, incident_in):
    from incidents.legal.obligations import seed_rules

    seed_rules()
    incident_in("scoping", data_categories=["contact"])
    html = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
    deadlines = html.split('id="deadlines"')[1].split("</ul>")[0]
    assert re.search(r'— <bdi><time class="countdown" [^>]*>in \d+ (hours?|days?)', deadlines), (
        deadlines
    )


def test_legal_verifies_the_record_from_the_dashboard(users, incident_in):
    from django.db import connection

    from incidents.models import Event, VerificationRun

    incident_in("restored")
    client = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en")
    panel = client.get("/").content.decode().split('id="record-verification"')[1]
    assert "Never verified yet." in panel.split("</section>")[0]
    assert client.post("/record/verify/").status_code == 302
    run = VerificationRun.objects.latest_run()
    assert run.ok and run.source == "web"
    panel = client.get("/").content.decode().split('id="record-verification"')[1]
    assert f"Intact: {run.checked} events checked" in panel.split("</section>")[0]
    victim = Event.objects.order_by("seq")[1]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Event._meta.db_table} SET actor_username = %s WHERE seq = %s",
            ["mallory", victim.seq],
        )
    client.post("/record/verify/")
    panel = client.get("/").content.decode().split('id="record-verification"')[1]
    assert f"BROKEN at event #{victim.seq}" in panel.split("</section>")[0]


@pytest.mark.parametrize("role", ["engineer", "executive"])
def test_only_legal_and_admins_see_or_start_verification(users, role):
    from incidents.models import VerificationRun

    client = browser(users[role])
    assert 'id="record-verification"' not in client.get("/").content.decode()
    assert client.post("/record/verify/").status_code == 403
    assert VerificationRun.objects.count() == 0


def test_a_page_load_at_an_unchanged_seq_is_served_from_the_shared_render(
    users, incident_in, django_assert_max_num_queries
):
    """One render per variant and change: the first reader renders, every later page load
    (any reader of that variant) at the same seq is a cache hit, whatever the data's size."""
    counted = []
    for n in (10, 40):
        while Incident.objects.count() < n:
            incident_in("detected", title=f"case {Incident.objects.count()}")
        first = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
        first.get("/")
        renders = panels.render_count()
        other = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en")
        other.get("/")  # sign-in and session rows, not the panels
        with django_assert_max_num_queries(12) as served:
            html = other.get("/").content.decode()
        assert panels.render_count() == renders
        assert f'id="open-total">{n}<' in html
        counted.append(len(served.captured_queries))
    assert counted[0] == counted[1]


def test_shared_panels_carry_no_csrf_token_and_the_page_puts_its_own(users, incident_in):
    from django.utils import translation

    client = browser(users["legal"], HTTP_ACCEPT_LANGUAGE="en")
    html = client.get("/").content.decode()
    form = html.split('id="record-verification"')[1].split("</form>")[0]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    assert token != panels.CSRF_SLOT and len(token) == 64
    variant = panels.variant_of(users["legal"].pk, frozenset({"legal"}), "en", "Asia/Tehran")
    with translation.override("en"):
        shared = panels.render(variant, panels.stamp(True))
    assert f'value="{panels.CSRF_SLOT}"' in shared and token not in shared


def test_ages_countdowns_and_overdue_marks_carry_their_moments_for_the_browser(users, incident_in):
    """The panels are not re-rendered as time passes: relative.js ticks these."""
    from incidents.workspace.updates import post_update

    incident = incident_in("scoping", severity="critical")
    post_update(incident, actor=users["engineer"], body="first")
    incident.refresh_from_db()
    html = browser(users["executive"], HTTP_ACCEPT_LANGUAGE="en").get("/").content.decode()
    row = html.split(f'data-reference="{incident.reference}"')[1].split("</tr>")[0]
    detected = incident.detected_at.isoformat()
    assert f'<td class="c-when"><time class="elapsed" datetime="{detected}">' in row
    assert re.search(r'<td class="c-extra"><time class="elapsed" datetime="[^"]+">', row)
    due = incident.next_update_at.isoformat()
    assert f'data-overdue-after="{due}" data-overdue-shows hidden>Update overdue<' in row


def test_open_rows_and_entries_kept_between_renders_follow_everything_they_show(users, incident_in):
    """The panels keep each open row's and latest entry's HTML ({% cache %}, keyed by all they
    show): a render after a change is the render from scratch, in each language."""
    from django.core.cache import caches
    from django.utils import translation

    from incidents.workspace.updates import post_update

    incident = incident_in("detected", title="Quiet row")
    other = incident_in("detected", title="Unchanged neighbour")
    variant = panels.variant_of(users["admin"].pk, frozenset({"admin"}), "en", "Asia/Tehran")

    def fresh_and_kept() -> tuple[str, str]:
        caches["template_fragments"].clear()
        with translation.override("en"):
            fresh = panels.render(variant, panels.stamp(True))
            kept = panels.render(variant, panels.stamp(True))
        return fresh, kept

    fresh, kept = fresh_and_kept()
    assert kept == fresh and "Quiet row" in kept
    with translation.override("en"):
        panels.render(variant, panels.stamp(True))  # the rows are kept now
        incident, _ = update_incident(incident, actor=users["admin"], changes={"title": "Loud"})
        apply_transition(incident, "start_scoping", actor=users["engineer"])
        post_update(incident, actor=users["engineer"], body="Backups restored")
        update_incident(other, actor=users["admin"], changes={"severity": "critical"})
        after = panels.render(variant, panels.stamp(True))
    row = after.split(f'data-reference="{incident.reference}"')[1].split("</tr>")[0]
    assert "Loud" in row and "Quiet row" not in row
    assert 'class="pill s-scoping"' in row and "Backups restored" in row
    neighbour = after.split(f'data-reference="{other.reference}"')[1].split("</tr>")[0]
    assert 'class="pill v-critical"' in neighbour
    caches["template_fragments"].clear()
    with translation.override("en"):
        assert panels.render(variant, panels.stamp(True)) == after
    with translation.override("fa"):
        persian = panels.render(replace(variant, language="fa"), panels.stamp(True))
    assert "بحرانی" in persian.split(f'data-reference="{other.reference}"')[1].split("</tr>")[0]


def test_kept_fragments_are_kept_per_time_zone(users, incident_in):
    """A row's and an entry's moments are written in the reader's time zone: a variant in
    another zone never gets the fragments kept for the first."""
    from django.core.cache import caches
    from django.utils import translation

    from incidents.workspace.updates import post_update

    incident = incident_in("detected", title="Zoned")
    post_update(incident, actor=users["engineer"], body="Contained")
    tehran = panels.variant_of(users["admin"].pk, frozenset({"admin"}), "en", "Asia/Tehran")
    utc = replace(tehran, time_zone="UTC")
    with translation.override("en"):
        caches["template_fragments"].clear()
        fresh_utc = panels.render(utc, panels.stamp(True))
        caches["template_fragments"].clear()
        kept_tehran = panels.render(tehran, panels.stamp(True))
        kept_utc = panels.render(utc, panels.stamp(True))
    assert kept_utc == fresh_utc
    assert kept_tehran != kept_utc  # the same rows and entries, their moments 3:30 apart


def test_an_entry_whose_moment_only_moved_is_not_written_again(users, incident_in, monkeypatch):
    """A latest timeline entry's moment ("12 seconds ago") moves each second; the rest of it
    does not. A change's render writes the moment of every entry and the body of its own new
    entry only: the others' bodies are kept fragments, whatever their words say now."""
    from django.utils import translation

    from frontend.templatetags import frontend_tags

    incident, variant = _noted_incident(users, incident_in, "Quiet")
    with _entries_written() as bodies, translation.override("en"):
        panels.render(variant, panels.stamp(True))
        written_first = len(bodies)
        # Time passes: every entry's words move (the moments are those of the log).
        monkeypatch.setattr(frontend_tags, "naturaltime", lambda value: "a while ago")
        monkeypatch.setattr(panels, "naturaltime", lambda value: "a while ago")
        add_note(incident, actor=users["engineer"], text="one more")
        bodies.clear()
        html = panels.render(variant, panels.stamp(True))
    entries = html.split('id="latest-events"')[1].split("</ol>")[0]
    assert written_first >= 4
    assert bodies == [ENTRY_BODY]  # the new entry's alone
    assert entries.count("a while ago") == entries.count("<li data-seq=")  # all words current
    assert "one more" in entries


def test_a_title_edit_writes_its_own_entry_and_every_entry_shows_the_new_title(users, incident_in):
    """An entry's kept part is the event alone (frontend.panels.latest_entry); its incident's
    reference and title are written outside it, so an edit of the title writes the edit's own
    entry, not every entry of that incident again, and none shows the old title."""
    from django.utils import translation

    incident, variant = _noted_incident(users, incident_in, "Old name")
    with _entries_written() as bodies, translation.override("en"):
        panels.render(variant, panels.stamp(True))
        update_incident(incident, actor=users["admin"], changes={"title": "New name"})
        bodies.clear()
        html = panels.render(variant, panels.stamp(True))
    entries = html.split('id="latest-events"')[1].split("</ol>")[0].split("<li data-seq=")[1:]
    assert len(entries) >= 5 and bodies == [ENTRY_BODY]  # the edit's entry alone
    for entry in entries:
        assert f">{incident.reference}</a> <bdi>New name</bdi> ·" in entry
        assert "Old name" not in entry


ENTRY_BODY = "frontend/partials/event_body.html"


def _noted_incident(users: Any, incident_in: Any, title: str) -> tuple[Any, Any]:
    """An incident with three notes, and the admin's variant of the panels."""
    incident = incident_in("detected", title=title)
    for n in range(3):
        add_note(incident, actor=users["engineer"], text=f"note {n}")
    return incident, panels.variant_of(users["admin"].pk, frozenset({"admin"}), "en", "UTC")


@contextlib.contextmanager
def _entries_written() -> Iterator[list[str]]:
    """The entries' templates rendered meanwhile (their kept fragments cleared first)."""
    from django.core.cache import caches
    from django.test.signals import template_rendered

    bodies: list[str] = []

    def rendered(sender: Any, template: Any, **kwargs: Any) -> None:
        if template.name in ("frontend/partials/event_item.html", ENTRY_BODY):
            bodies.append(template.name)

    caches["template_fragments"].clear()
    template_rendered.connect(rendered)
    try:
        yield bodies
    finally:
        template_rendered.disconnect(rendered)
