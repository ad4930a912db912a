"""WEB_GC_TUNING freezes the start-up heap out of collections (core/gc_tuning.py)."""

from __future__ import annotations

import gc

from core.gc_tuning import THRESHOLDS, freeze_startup_heap


def test_the_start_up_heap_is_frozen_and_young_objects_collected_less_often():
    before = gc.get_threshold()
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == THRESHOLDS
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
