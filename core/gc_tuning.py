"""Garbage-collector tuning for the web process (WEB_GC_TUNING), through the standard library's
public ``gc`` API only.

The live stream's latency tail was mostly collector pauses walking the start-up heap (Django,
DRF, the models: objects that live as long as the process): freezing them keeps every later
collection to what requests and connections allocate, and a higher generation-0 threshold
collects young objects less often (bench/README.md, "Live stream").
"""

import gc

THRESHOLDS = (50_000, 20, 20)


def freeze_startup_heap() -> None:
    """Call once, after the application has been imported and before serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
