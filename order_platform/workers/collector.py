"""The cycle collector in the processes that run refreshes: the command's, a run's own, the fork server.

Such a process imports Dagster, pandas and the pipeline (millions of objects that live as long as it does),
then allocates millions of short-lived ones per customer, freed by reference counting. With the default
thresholds the collector runs ~1,000 times per refresh in the command's process, and each full collection
walks every imported object again: ~0.85 s of its CPU, ~0.3 s in the fork server (measured with
`gc.callbacks` on the 46 demo workbooks). Freezing what the start-up made moves it out of the collector's
sight for good (`gc.freeze`), and a larger first threshold collects young objects less often; reference
cycles are still collected.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Allocations (less deallocations) between young collections: the default is 700. A young collection
# then looks at up to ~10,000 objects (~2-4 ms), ~40 times per refresh instead of ~1,000.
YOUNG_THRESHOLD = 10_000
_frozen = False


def settle_start_up() -> None:
    """What this process made so far lives as long as it does: the collector stops looking at it, and
    looks at young objects less often. Once per process (a second freeze would also keep whatever
    cyclic garbage the first run left, for good); re-enables a collector `quiet_start_up` paused."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()
        _, middle, old = gc.get_threshold()
        gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    gc.enable()


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection meanwhile, for CPU-bound steps that make millions of acyclic objects (a workbook's
    cells, a board's payloads), never around I/O waits; reference counting still frees everything, and the
    collector's previous state comes back."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def quiet_start_up() -> None:
    """No collection while the process imports and loads definitions (nothing it makes is garbage);
    `settle_start_up` ends it."""
    gc.disable()
