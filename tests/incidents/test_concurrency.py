"""Concurrent writers: one winner per race, exactly one event, and no "database is locked"."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection, connections

from incidents.errors import DomainError
from incidents.lifecycle import apply_transition
from incidents.models import Event, Incident
from tests.stream.conftest import token_of
from tests.stream.servers import daphne, http

pytestmark = pytest.mark.django_db(transaction=True)


def race(workers: list[Callable[[], Any]]) -> list[Any]:
    """Start all workers at the same instant; each returns a result or the exception it raised."""
    barrier = threading.Barrier(len(workers))
    results: list[Any] = [None] * len(workers)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = workers[i]()
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def outcome(result: Any) -> str:
    if isinstance(result, DomainError):
        return str(result.status)
    if isinstance(result, Exception):
        return repr(result)
    return "ok"


def test_two_racing_transitions_have_one_winner_and_one_event(require_postgres, incident_in, users):
    incident = incident_in("detected")
    before = Event.objects.count()
    attempt = lambda: apply_transition(  # noqa: E731
        Incident.objects.get(pk=incident.pk), "start_scoping", actor=users["engineer"]
    )
    results = race([attempt, attempt])
    counts = Counter(outcome(r) for r in results)
    assert counts == Counter({"ok": 1, "409": 1}), counts
    assert Event.objects.count() == before + 1
    assert Incident.objects.get(pk=incident.pk).version == 2


def test_racing_with_the_same_if_match_one_wins_the_other_gets_412(
    require_postgres, incident_in, users
):
    incident = incident_in("scoping")
    version = incident.version
    before = Event.objects.count()
    dismiss = lambda: apply_transition(  # noqa: E731
        incident,
        "dismiss",
        actor=users["engineer"],
        payload={"reason": "dup"},
        expected_version=version,
    )
    results = race([dismiss, dismiss, dismiss])
    counts = Counter(outcome(r) for r in results)
    assert counts == Counter({"ok": 1, "412": 2}), counts
    assert Event.objects.count() == before + 1


def test_32_concurrent_writers_in_one_process_get_no_error(incident_in, users):
    """The embedded default (SQLite: WAL, busy timeout, IMMEDIATE) holds 32 writers at once,
    calling the domain directly from threads of one process."""
    incidents = [incident_in("detected") for _ in range(32)]
    before = Event.objects.count()
    workers = [
        (lambda inc=inc: apply_transition(inc, "start_scoping", actor=users["engineer"]))
        for inc in incidents
    ]
    results = race(workers)
    assert [outcome(r) for r in results] == ["ok"] * 32
    assert Event.objects.count() == before + 32
    seqs = list(Event.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    assert set(Incident.objects.values_list("state", flat=True)) == {"scoping"}
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_32_concurrent_writers_over_http_on_daphne_all_get_200(tmp_path, incident_in, users):
    """32 API clients post a transition at the same instant to a real daphne process (its
    request threads, its database connections; on PostgreSQL when DATABASE_URL names one):
    every one is answered 200, and the log holds one gapless event per writer."""
    references = [incident_in("detected").reference for _ in range(32)]
    token = token_of(users["engineer"])
    last_seq = Event.objects.order_by("seq").last().seq
    with daphne(tmp_path, redis_url=None, prefix=f"c{uuid.uuid4().hex[:8]}") as base:
        barrier = threading.Barrier(len(references), timeout=60)

        def start_scoping(reference: str) -> tuple[int, Any]:
            barrier.wait()
            url = f"{base}/api/incidents/{reference}/transitions/start_scoping/"
            return http("POST", url, token, {})

        with ThreadPoolExecutor(max_workers=len(references)) as pool:
            answers = list(pool.map(start_scoping, references))
    refused = [(status, body) for status, body in answers if status != 200]
    assert not refused, f"{len(refused)} of 32 refused: {refused[:3]}"
    new = list(Event.objects.after(last_seq).values_list("seq", "kind", "incident__reference"))
    assert [seq for seq, _, _ in new] == list(range(last_seq + 1, last_seq + 33))
    assert {kind for _, kind, _ in new} == {"start_scoping"}
    assert sorted(reference for _, _, reference in new) == sorted(references)
    states = Incident.objects.filter(reference__in=references).values_list("state", flat=True)
    assert list(states) == ["scoping"] * 32
