"""Garbage-collector tuning for the web process (WEB_GC_TUNING), through the standard library's
public ``gc`` API only.

The live stream's latency tail was mostly collector pauses walking the start-up heap (Django,
DRF, the models: objects that live as long as the process): freezing them keeps every later
collection to what requests and connections allocate, and a higher generation-0 threshold
collects young objects less often (bench/README.md, "Live stream").

A connection storm (every dashboard reconnecting after a deploy) leaves tens of thousands of
objects in cycles (each page and feed request is one: bench/README.md, "Dashboard viewers"),
which the collector then frees in pauses of 50-250 ms, and after 2,000 connections walks their
survivors in one of ~0.5 s. Left to the thresholds, those fall wherever the next allocations
happen to cross them: in the first changes after the storm, each delayed by the pause. The
``QuietCollector`` runs them once the storm is over instead (``collect_due``), while no client
waits for anything.
"""

from __future__ import annotations

import asyncio
import gc

THRESHOLDS = (50_000, 20, 20)
# How long a process must go without a client connecting or leaving before it collects what
# the connections left due.
QUIET_SECONDS = 0.5


def freeze_startup_heap() -> None:
    """Call once, after the application has been imported and before serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


def collect_due() -> int | None:
    """Collect what is building up towards the collector's next pauses, now: nothing while
    generation 0 holds less than a quarter of its threshold; else generation 0, or the oldest
    generation whose count has reached half its threshold (the ~0.5 s walk of a storm's
    survivors is generation 1's). The generation collected, or None."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    if not gc.isenabled() or thresholds[0] == 0 or counts[0] < thresholds[0] // 4:
        return None
    generation = 0
    while generation < 2 and counts[generation + 1] >= thresholds[generation + 1] // 2:
        generation += 1
    gc.collect(generation)
    return generation


class QuietCollector:
    """One per event loop (the stream's hub holds it): ``busy`` on every client that connects
    or leaves; ``collect_due`` runs QUIET_SECONDS after the last of them."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.timer: asyncio.TimerHandle | None = None

    def busy(self) -> None:
        if not self.enabled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a consumer let go outside the loop (a test's clean-up)
            return
        if self.timer is not None:
            self.timer.cancel()
        self.timer = loop.call_later(QUIET_SECONDS, self._quiet)

    def _quiet(self) -> None:
        self.timer = None
        collect_due()
