"""What the dashboard keeps between changes (frontend/kept.py): a render checks every entry it
keeps together, one read of the cache and one query, and an entry stands only while the log it
was read at is the same and no event since moves it."""

from __future__ import annotations

from django.core.cache import cache

from frontend.kept import check, kept
from frontend.panels import stamp
from incidents.lifecycle import apply_transition
from incidents.models.events import EventQuerySet
from incidents.notes import add_note

ENTRIES = {
    "test-kept-figures": EventQuerySet.that_move_figures,
    "test-kept-lists": EventQuerySet.that_move_lists,
    "test-kept-readers": EventQuerySet.that_move_readers,
}


def log_now() -> tuple[int, str]:
    at = stamp(False)
    return at.seq, at.head


def keep_all(log: tuple[int, str]) -> None:
    for key, moves in ENTRIES.items():
        kept(key, log, lambda key=key: f"value of {key}", moves)


def test_a_renders_entries_are_checked_in_one_query_and_one_cache_read(
    users, incident_in, django_assert_num_queries, django_assert_max_num_queries, monkeypatch
):
    incident_in("detected")
    keep_all(log_now())
    log = log_now()
    reads = []

    class Counted:  # the project's cache, with its reads counted
        def get_many(self, keys: list[str]) -> dict:
            reads.append(keys)
            return cache.get_many(keys)

    monkeypatch.setattr("frontend.kept.cache", Counted())
    with django_assert_max_num_queries(2) as queries:
        checked = check(log, ENTRIES)
    assert checked.standing == {key: f"value of {key}" for key in ENTRIES}
    assert reads == [list(ENTRIES)]
    # Without Redis the tests' cache is the database's: its read is one query more.
    on_the_log = [q for q in queries.captured_queries if "breach_desk_cache" not in q["sql"]]
    assert len(on_the_log) == 1
    with django_assert_num_queries(0):  # looked up already: no check of its own
        assert kept("test-kept-lists", log, lambda: "read again", checked=checked) == (
            "value of test-kept-lists"
        )


def test_an_entry_stands_until_an_event_that_moves_it(users, incident_in):
    incident = incident_in("detected")
    keep_all(log_now())
    add_note(incident, actor=users["engineer"], text="a quiet change")
    assert set(check(log_now(), ENTRIES).standing) == set(ENTRIES)
    apply_transition(incident, "start_scoping", actor=users["engineer"], payload={})
    # A transition moves the figures and the lists, not who reads restricted incidents (this
    # incident is not restricted).
    assert set(check(log_now(), ENTRIES).standing) == {"test-kept-readers"}


def test_an_entry_moved_is_read_again_without_another_check(
    users, incident_in, django_assert_max_num_queries
):
    incident = incident_in("detected")
    keep_all(log_now())
    apply_transition(incident, "start_scoping", actor=users["engineer"], payload={})
    log = log_now()
    checked = check(log, ENTRIES)
    # The read, then the cache's write of the new value (the tests' cache: its queries).
    with django_assert_max_num_queries(10) as queries:
        value = kept("test-kept-figures", log, lambda: "read again", checked=checked)
    assert value == "read again"
    assert not any("incidents_event" in q["sql"] for q in queries.captured_queries)
    assert cache.get("test-kept-figures")["seq"] == log[0]


def test_nothing_stands_that_was_read_of_another_log_or_ahead_of_this_one(users, incident_in):
    """An entry read at a seq whose event has another hash now (a database rebuilt or
    restored), or at a seq the log being rendered has not reached."""
    incident_in("detected")
    seq, head = log_now()
    keep_all((seq, head))
    assert set(check((seq, head), ENTRIES).standing) == set(ENTRIES)
    assert check((seq - 1, head), ENTRIES).standing == {}
    cache.set("test-kept-lists", {**cache.get("test-kept-lists"), "head": "f" * 16})
    assert set(check((seq, head), ENTRIES).standing) == {"test-kept-figures", "test-kept-readers"}


def test_each_entry_is_checked_from_the_seq_it_was_read_at(users, incident_in):
    """A render's entries were read at different seqs: each probe reads the log from its own
    (the probes' filters are built once; the seqs are the query's own)."""
    incident = incident_in("detected")
    keep_all(log_now())
    apply_transition(incident, "start_scoping", actor=users["engineer"], payload={})
    later = log_now()
    kept("test-kept-lists", later, lambda: "read later", EventQuerySet.that_move_lists)
    add_note(incident, actor=users["engineer"], text="a quiet change")
    assert check(log_now(), ENTRIES).standing == {
        "test-kept-lists": "read later",
        "test-kept-readers": "value of test-kept-readers",
    }
