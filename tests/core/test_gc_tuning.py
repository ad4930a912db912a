"""WEB_GC_TUNING freezes the start-up heap out of collections, and collects what a storm of
connections left due once it is over (core/gc_tuning.py)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from core import gc_tuning
from core.gc_tuning import THRESHOLDS, QuietCollector, collect_due, freeze_startup_heap


def test_the_start_up_heap_is_frozen_and_young_objects_collected_less_often():
    before = gc.get_threshold()
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == THRESHOLDS
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


class Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def thresholds() -> Iterator[None]:
    """Collections only when this test makes them (thresholds nothing here reaches by itself)."""
    before = gc.get_threshold()
    gc.collect()
    gc.set_threshold(100_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _garbage(n: int) -> weakref.ref:
    """``n`` objects in cycles, now unreachable; a reference to one of them."""
    cycles = [Cycle() for _ in range(n)]
    first = weakref.ref(cycles[0])
    del cycles
    return first


def test_generation_0_is_collected_once_a_quarter_full(thresholds):
    few = _garbage(1_000)
    assert collect_due() is None and few() is not None  # far below a quarter
    many = _garbage(30_000)  # with their own dicts, more than 25,000 objects
    assert collect_due() == 0
    assert few() is None and many() is None


def test_an_older_generation_half_due_is_collected_with_it(thresholds):
    before = gc.get_threshold()
    gc.set_threshold(100_000, 4, 20)
    try:
        for _ in range(2):  # generation 1 is half due
            gc.collect(0)
        _garbage(30_000)
        assert gc.get_count()[1] >= 2
        assert collect_due() == 1
        assert gc.get_count()[1] == 0
    finally:
        gc.set_threshold(*before)


async def test_the_quiet_collector_runs_once_after_the_last_client(monkeypatch):
    calls: list[Any] = []
    monkeypatch.setattr(gc_tuning, "collect_due", lambda: calls.append(1))
    monkeypatch.setattr(gc_tuning, "QUIET_SECONDS", 0.1)
    collector = QuietCollector(enabled=True)
    for _ in range(5):  # a storm of clients, each within the quiet time of the one before
        collector.busy()
        await asyncio.sleep(0.05)
    assert calls == []
    await asyncio.sleep(0.15)
    assert calls == [1]
    QuietCollector(enabled=False).busy()  # WEB_GC_TUNING off: nothing
    await asyncio.sleep(0.15)
    assert calls == [1]
