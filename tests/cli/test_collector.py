"""The garbage collector settings of a server process (reactor serve and reactor dev)."""

from __future__ import annotations

import gc

from reactor.cli.serve import YOUNG_COLLECTION_THRESHOLD, settle_collector


def test_a_settled_process_keeps_its_startup_heap_out_of_collections() -> None:
    thresholds = gc.get_threshold()
    survivor = [object() for _ in range(100)]
    gc.collect()
    try:
        settle_collector()
        assert gc.get_freeze_count() >= len(survivor)
        assert not any(o is survivor for o in gc.get_objects())
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *thresholds[1:])
        # Objects made afterwards are collected as usual.
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
