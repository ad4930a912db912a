"""What the dashboard keeps between changes: a value read as of the log at some seq, reused while
no event since moves it (the dashboard's figures, a reader's lists and hidden count:
frontend/metrics.py, frontend/panels.py).

A kept entry is checked against the log: the event it was read at is still the log's (same seq,
same hash: not a log rebuilt or restored), and no event since is one of those that move it.
``kept`` checks one entry; ``check`` checks a render's entries together, one read of the cache
and one query for all of them, where each alone costs both: the same CPU (the ORM builds the
same filters), but two round trips fewer to each, which under load wait for the process's
database thread and the interpreter lock (bench/README.md, "Dashboard viewers").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.core.cache import cache
from django.db.models import Exists, OuterRef, Value

from incidents.models import Event, LogHead
from incidents.models.events import EventQuerySet

# Which events move a kept value: an EventQuerySet method (``Event.objects.that_move_*``).
Moves = Callable[[Any], Any]
# How long the shared figures stay in the cache: their key names the minute, so this is only
# how long a stale one lingers.
FIGURES_SECONDS = 120


@dataclass
class Checked:
    """Kept entries looked up together (``check``): the values that still stand, by key, and
    every key looked up (one not standing is read again without another check)."""

    standing: dict[str, Any] = field(default_factory=dict)
    looked: set[str] = field(default_factory=set)


def read_at(seq: int, head: str) -> Exists:
    """Whether the log still holds the event a value was read at (same seq, same hash): a log
    rebuilt or restored holds another."""
    return Exists(Event.objects.filter(seq=seq, hash__startswith=head))


@lru_cache(maxsize=64)
def moved_between(moves: Moves, since: str, upto: str) -> Exists:
    """Whether an event after the seq in column ``since`` and up to the one in column ``upto``
    of the query it is read in (a log head row; ``check`` annotates its bounds as ``Value``s) is
    one of those that ``moves`` a kept value: an index range of the log, by seq. The bounds
    being columns, the probe's filters are the same in every query and built once per process:
    building them each time was ~1.4 ms of a ~20 ms dashboard render (bench/README.md,
    "Dashboard viewers"). Each use resolves a copy; this one is never changed."""
    return Exists(moves(Event.objects.filter(seq__gt=OuterRef(since), seq__lte=OuterRef(upto))))


def check(log: tuple[int, str], entries: dict[str, Moves]) -> Checked:
    """Which of ``entries`` (cache keys, each with the events that move it) still stand as of
    the log at ``log`` (its seq and the start of its hash, read before): one ``get_many`` and,
    if any was found, one query of ``EXISTS`` probes, each an index range of the log since the
    entry's seq."""
    seq, _ = log
    checked = Checked(looked=set(entries))
    found = {
        key: entry for key, entry in cache.get_many(list(entries)).items() if entry["seq"] <= seq
    }
    if not found:
        return checked
    bounds: dict[str, Value] = {"upto": Value(seq)}
    probes: dict[str, Exists] = {}
    reads: dict[tuple[int, str], str] = {}  # one probe of the read's event, however many share it
    for i, (key, entry) in enumerate(found.items()):
        at = (entry["seq"], entry["head"])
        if at not in reads:
            reads[at] = f"same_{len(reads)}"
            probes[reads[at]] = read_at(*at)
        bounds[f"since_{i}"] = Value(entry["seq"])
        probes[f"moved_{i}"] = moved_between(entries[key], f"since_{i}", "upto")
    answers = LogHead.objects.filter(id=1).annotate(**bounds).values(**probes).first()
    if answers is None:  # no log at all: nothing kept stands
        return checked
    for i, (key, entry) in enumerate(found.items()):
        same = answers[reads[(entry["seq"], entry["head"])]]
        if same and not answers[f"moved_{i}"]:
            checked.standing[key] = entry["value"]
    return checked


def kept(
    key: str,
    log: tuple[int, str],
    read: Callable[[], Any],
    moves: Moves = EventQuerySet.that_move_figures,
    seconds: int = FIGURES_SECONDS,
    checked: Checked | None = None,
) -> Any:
    """What ``read`` returns as of the log at ``log`` (its seq and the start of its hash, read
    before), kept in the cache under ``key`` (which names the minute where the value moves
    with time: the medians' windows, as the panels' own render may be a minute old,
    panels.CACHE_SECONDS) and reused while no event since the one it was read at ``moves`` it
    (by default ``Event.objects.that_move_figures``): a change of another kind does not pay for
    it (at 100,000 incidents, most of a render). One query checks that (the log since then, by
    its seq: the events of ``seconds`` at most), and that it is the same log; none when
    ``checked`` looked the key up already."""
    if checked is not None and key in checked.looked:
        if key in checked.standing:
            return checked.standing[key]
    else:
        standing = check(log, {key: moves}).standing
        if key in standing:
            return standing[key]
    value = read()
    seq, head = log
    if seq:
        cache.set(key, {"seq": seq, "head": head, "value": value}, seconds)
    return value
