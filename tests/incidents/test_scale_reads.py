"""Issue 21: the feed and the lists read by keyset or index, cost queries independent of the
data, and answer as before (text search through the trigram indexes included)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.api.pagination import CappedPaginator
from core.formats import ascii_digits
from incidents.filters import ORDERINGS, IncidentFilter
from incidents.lifecycle import transition_options, update_incident
from incidents.models import Event, Incident, Obligation, search
from incidents.need_to_know import change_restriction
from incidents.notes import add_note
from tests.conftest import client_for


def feed_pages(client: Any, url: str) -> tuple[list[int], int]:
    """Every seq the feed hands out following ``next`` from ``url``, and how many pages."""
    seqs: list[int] = []
    pages = 0
    while url:
        body = client.get(url).json()
        assert set(body) == {"next", "previous", "results"} and body["previous"] is None
        seqs += [e["seq"] for e in body["results"]]
        url, pages = body["next"], pages + 1
    return seqs, pages


def test_feed_pages_by_keyset_without_gap_or_duplicate(api, incident_in, users):
    incidents = [incident_in("detected", title=f"case {i}") for i in range(4)]
    for incident in incidents:
        add_note(incident, actor=users["engineer"], text="looked")
    every = list(Event.objects.values_list("seq", flat=True))
    seqs, pages = feed_pages(api("executive"), "/api/events/?after=0&page_size=3")
    assert seqs == every and pages == -(-len(every) // 3)
    first = api("executive").get("/api/events/?after=0&page_size=3").json()
    assert first["next"].startswith("http://testserver/api/events/?")
    assert f"after={every[2]}" in first["next"] and "page_size=3" in first["next"]


def test_feed_narrowed_to_one_incident_keeps_the_filter_in_next(api, incident_in, users):
    one, other = incident_in("detected"), incident_in("detected")
    for _ in range(3):
        add_note(one, actor=users["engineer"], text="a")
        add_note(other, actor=users["engineer"], text="b")
    url = f"/api/events/?incident={one.reference}&page_size=2"
    seqs, _pages = feed_pages(api("executive"), url)
    assert seqs == list(one.events.order_by("seq").values_list("seq", flat=True))


def test_feed_hides_restricted_incidents_from_non_members(api, incident_in, users):
    hidden = incident_in("detected", title="secret")
    change_restriction(hidden, actor=users["admin"], restricted=True, members=["legal"])
    shown = incident_in("detected", title="open")
    executive, _ = feed_pages(api("executive"), "/api/events/?page_size=1")
    member, _ = feed_pages(api("legal"), "/api/events/?page_size=1")
    admin, _ = feed_pages(api("admin"), "/api/events/?page_size=1")
    assert set(executive) == set(shown.events.values_list("seq", flat=True))
    assert set(member) == set(admin) == set(Event.objects.values_list("seq", flat=True))


@pytest.mark.parametrize("after", ["abc", "1.5", str(2**63), "9" * 30])
def test_feed_refuses_a_bad_after(api, after):
    assert api("executive").get(f"/api/events/?after={after}").status_code == 400


@pytest.mark.parametrize("rows", [5, 50])
def test_feed_and_lists_cost_the_same_queries_whatever_the_data(
    users, incident_in, rows, django_assert_max_num_queries
):
    for i in range(rows):
        incident = incident_in("detected", title=f"case {i}")
        if i % 5 == 0:
            change_restriction(incident, actor=users["admin"], restricted=True, members=["legal"])
    api = client_for(users["executive"])
    page = Client()
    page.force_login(users["executive"])
    with django_assert_max_num_queries(5):
        assert api.get("/api/events/?after=0&page_size=20").status_code == 200
    with django_assert_max_num_queries(10):
        assert api.get("/api/incidents/?page_size=20").status_code == 200
    with django_assert_max_num_queries(10):
        assert page.get("/incidents/?search=case").status_code == 200


@pytest.mark.parametrize("each", [1, 4])
def test_incident_list_offers_next_steps_without_a_query_per_row(
    users, incident_in, each, django_assert_num_queries
):
    """What the guards read from other tables (tasks, referrals, obligations, the review) is
    read for the whole page at once: a page of incidents in every phase costs the same
    queries, and offers the same next steps as guards that ask the tables themselves."""
    for _ in range(each):
        for state in ("scoping", "restoring", "restored", "referred"):
            incident_in(state)
    api = client_for(users["admin"])
    with django_assert_num_queries(11):
        body = api.get("/api/incidents/").json()
    assert len(body["results"]) == 4 * each
    for row in body["results"]:  # the same answer as guards that ask the tables themselves
        fresh = transition_options(Incident.objects.get(reference=row["reference"]), users["admin"])
        assert row["available_transitions"] == [o.name for o in fresh if not o.missing]
        assert row["blocked_transitions"] == {o.name: list(o.missing) for o in fresh if o.missing}


def test_list_count_reads_ids_only_not_the_rows_annotations(users, incident_in):
    """The capped count counts ids: the guards' per-row subqueries of a page (tasks,
    referrals...) would otherwise run for every row counted, up to the cap."""
    incident_in("restoring")
    api = client_for(users["engineer"])
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/incidents/").status_code == 200
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]
    assert len(counts) == 1 and "incidents_task" not in counts[0]


def test_capped_count_says_more_than_and_still_pages_deep(incident_in, monkeypatch):
    for i in range(7):
        incident_in("detected", title=f"case {i}")
    monkeypatch.setattr(CappedPaginator, "cap", 3)
    rows = Incident.objects.order_by("-ref_year", "-ref_number")
    first = CappedPaginator(rows, 2).get_page(1)
    assert first.paginator.is_capped and first.paginator.count == 4 and first.has_next()
    deep = CappedPaginator(rows, 2).get_page(4)
    assert [i.pk for i in deep] == [rows[6].pk] and not deep.has_next()
    assert not deep.paginator.is_capped and deep.paginator.count == 7


TITLES = [
    "Leaked backup of the SHOP database",
    "نشت پایگاه دادهٔ مشتریان",
    "phishing: «رمز» عبور",
    'quote "marks" and 100% _under_',
    "follow-up of INC-2026-0001 and inc-2020-0007",
]


@pytest.mark.parametrize(
    "text",
    [
        "leak",
        "LEAKED",
        "Shop Data",
        "پایگاه",
        "دادهٔ مشتری",
        "رمز",
        "ab",
        "ش",
        '"marks"',
        "100%",
        "_under",
        "۲۰",
        "inc-",
        "INC-2",
        "inc-20",
        "Inc-2026-000",
        "INC-۲۰",
        "zzz",
        "ed b",
    ],
)
@pytest.mark.parametrize("common", [1, 1000])  # by LIKE alone, or through the index
def test_search_answers_exactly_like_icontains(incident_in, text, common, monkeypatch):
    monkeypatch.setattr(search, "COMMON", common)
    for title in TITLES:
        incident_in("detected", title=title)
    found = IncidentFilter({"search": text}, Incident.objects.all()).qs
    reference = ascii_digits(text).upper()
    expected = Incident.objects.filter(title__icontains=text) | Incident.objects.filter(
        reference__icontains=reference
    )
    assert sorted(i.pk for i in found) == sorted(i.pk for i in expected)


def test_search_finds_a_reference_typed_in_persian_digits_and_follows_edits(incident_in, users):
    incident = incident_in("detected", title="old words")
    persian = incident.reference.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert list(IncidentFilter({"search": persian[4:]}, Incident.objects.all()).qs) == [incident]
    update_incident(incident, actor=users["admin"], changes={"title": "new wording"})
    assert not IncidentFilter({"search": "old words"}, Incident.objects.all()).qs.exists()
    assert IncidentFilter({"search": "wording"}, Incident.objects.all()).qs.exists()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 triggers only")
def test_search_index_triggers_lost_in_a_table_rebuild_come_back_after_migrate(incident_in):
    """SQLite drops a table's triggers when a migration rebuilds it; the next migrate's
    post_migrate puts them back and re-indexes what was written meanwhile."""
    with connection.cursor() as cursor:
        for name in search.FTS_TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    incident = incident_in("detected", title="written while unindexed")
    assert not IncidentFilter({"search": "unindexed"}, Incident.objects.all()).qs.exists()
    assert search.restore_sqlite_search_index(connection) is True
    assert list(IncidentFilter({"search": "unindexed"}, Incident.objects.all()).qs) == [incident]
    assert search.restore_sqlite_search_index(connection) is False  # nothing missing now


def plan_of(queryset: Any) -> str:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A test's tables are tiny: without these the planner reads them whole.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            return queryset.explain()
    return queryset.explain()


def test_a_reference_is_searched_by_its_prefix_index(incident_in):
    """A text shaped like a reference's start is a prefix of the reference (PostgreSQL: the
    reference's varchar_pattern_ops index, not the trigram lists every reference shares)."""
    incident = incident_in("detected", title="Leaked backup")
    searched = IncidentFilter({"search": incident.reference.lower()}, Incident.objects.all()).qs
    assert list(searched) == [incident]
    if connection.vendor == "postgresql":
        plan = plan_of(searched.order_by())
        assert "_like" in plan and "incident_reference_trgm" not in plan


def test_search_is_served_by_the_text_index(incident_in):
    incident_in("detected", title="Leaked backup")
    searched = IncidentFilter({"search": "backup"}, Incident.objects.all()).qs
    plan = plan_of(searched.order_by())  # unsorted: else a tiny table is read in sort order
    if connection.vendor == "postgresql":
        assert "incident_title_trgm" in plan and "incident_reference_trgm" in plan
    else:
        assert "incidents_incident_fts" in plan


def test_feed_walks_the_seq_index_and_probes_incidents(users):
    events = Event.objects.visible_to(users["executive"]).after(10)[:51]
    plan = plan_of(events)
    if connection.vendor == "sqlite":
        assert "SCAN incidents_event" not in plan and "(seq>?)" in plan
    else:
        assert "Seq Scan on incidents_event" not in plan


@pytest.mark.parametrize("ordering", [*ORDERINGS, *(f"-{name}" for name in ORDERINGS), ""])
def test_every_sort_of_the_lists_reads_an_index(users, ordering):
    """No sort of the list (nor the page's default) sorts every incident: each reads its
    rows from an index in order (a partial sort of ties of one value at most)."""
    visible = Incident.objects.visible_to(users["executive"]).with_people()
    if not ordering:
        visible = visible.order_by("-detected_at", "-ref_year", "-ref_number")
    plan = plan_of(IncidentFilter({"ordering": ordering}, visible).qs[:50])
    if connection.vendor == "sqlite":
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
    else:
        # A full sort is a "Sort  (cost=..." node; an "Incremental Sort" of ties is fine.
        nodes = [line.strip().removeprefix("->  ") for line in plan.splitlines()]
        assert not any(node.startswith("Sort  (") for node in nodes), plan


def test_incident_page_says_more_than_when_the_count_stops(users, incident_in, monkeypatch):
    for i in range(5):
        incident_in("detected", title=f"case {i}")
    monkeypatch.setattr(CappedPaginator, "cap", 2)
    monkeypatch.setattr("frontend.views.incidents.PAGE_SIZE", 1)
    page = Client(HTTP_ACCEPT_LANGUAGE="en")
    page.force_login(users["executive"])
    first = page.get("/incidents/").content.decode()
    assert "Page 1 of more than 2 incidents" in first and "page=2" in first
    last = page.get("/incidents/?page=5").content.decode()
    assert "Page 5 of 5" in last and "case 0" in last and "page=6" not in last


def test_list_count_stops_at_a_thousand_rows_past_the_page(users, incident_in):
    """The documented cap (docs/api.md, docs/pages.md): one count reads at most 1,001 ids,
    so an engineer's list or a common word's search costs the same at any size."""
    incident_in("detected", title="case")
    page = Client()
    page.force_login(users["engineer"])
    for path in ("/incidents/", "/incidents/?search=case", "/api/incidents/?page_size=20"):
        client = client_for(users["engineer"]) if path.startswith("/api/") else page
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        sqls = [q["sql"] for q in queries.captured_queries]
        # The list's count of ids (not SQLite's probe of the text index, search.is_common).
        counts = [sql for sql in sqls if sql.startswith('SELECT COUNT(*) FROM (SELECT "inc')]
        assert len(counts) == 1 and "LIMIT 1001)" in counts[0], sqls


def test_timeline_count_is_exact_past_the_list_cap(api, users, incident_in, monkeypatch):
    """One incident's events are counted whole (on their own index), never capped."""
    incident = incident_in("restoring")
    for i in range(3):
        add_note(incident, actor=users["engineer"], text=f"note {i}")
    events = Event.objects.filter(incident=incident).count()
    monkeypatch.setattr(CappedPaginator, "cap", 1)
    url = f"/api/incidents/{incident.reference}/timeline/?page_size=2"
    first = api("engineer").get(url).json()
    assert events > 4 and first["count"] == events and first["next"]
    last = api("engineer").get(f"{url}&page=last").json()
    assert last["next"] is None and last["results"][-1]["seq"] == incident.events.last().seq


def test_api_last_page_is_the_real_last_page_past_the_cap(api, incident_in, monkeypatch):
    for i in range(5):
        incident_in("detected", title=f"case {i}")
    monkeypatch.setattr(CappedPaginator, "cap", 2)
    first = api("executive").get("/api/incidents/?page_size=1").json()
    assert first["count"] == 3 and first["next"] and first["previous"] is None
    last = api("executive").get("/api/incidents/?page_size=1&page=last").json()
    assert last["count"] == 5 and last["next"] is None
    assert last["results"][0]["reference"] == Incident.objects.order_by("id")[0].reference


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner, without statistics")
def test_guard_facts_read_obligations_by_the_page_ids(incident_in):
    """A list page's open obligations are read by the page's ids: SQLite, which keeps no
    statistics, otherwise took the (state, due_at) index and read every open obligation of
    the years (63 ms of /api/incidents/ at 100k incidents, bench/README.md "Scale")."""
    incident = incident_in("detected")
    rows = Obligation.objects.open().filter(incident_id__in=[incident.pk, incident.pk + 1])
    plan = plan_of(rows.order_by().values_list("incident_id", flat=True))
    assert "incident_id=?" in plan, plan
