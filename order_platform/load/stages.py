"""Where one customer's load spends its time, stage by stage (the bench's profile table).

A stage is timed in wall and CPU seconds of the process doing it; a stage inside another (the
calamine read inside the raw layer) is taken out of the outer one, so the stages of a customer add up
to its load. One clock per process: a process loads one customer at a time.

    with timed("read"):
        rows = sheet.to_python()
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

# Stages in the order a load goes through them (the bench prints them in this order).
STAGES = (
    "source",  # listing the workbook's bytes and hashing them
    "blob",  # the content-addressed copy
    "read",  # calamine: open the workbook, read the order sheet
    "error_cells",  # Excel error values calamine reads as blank, from the sheet XML
    "cell_text",  # calamine's values as the raw table's text, header row, blank rows
    "raw_write",  # the raw table
    "typing",  # raw text -> typed columns, quarantine, line ids
    "cell_issues",  # the cell-issue rows and each line's _CELL_ISSUES
    "staging_write",  # the staging table
    "publish",  # the ORDER_LIST swap with quarantine, cell issues and the load log
)
# Stages of the run's own process (the CLI's, or Dagster's run worker).
RUN_STAGES = (
    "process_start",  # imports, the code location, the instance
    "listing",  # the source listing, removed customers
    "run",  # the rest of the Dagster run in this process: planning, starting, the worker pool, waiting
    "dagster_events",  # Dagster storing each customer's materialisations and check evaluations
    "board_prepare",  # reading and building a published customer's board lines while the others load
    "board_plan",  # the monday.com sync (a dry run without a token) done in this process
)

_totals: dict[str, list[float]] = {}
_stack: list[list[float]] = []  # per open stage: the wall and CPU seconds of stages nested in it


@contextmanager
def timed(stage: str) -> Iterator[None]:
    wall, cpu = time.perf_counter(), time.process_time()
    inner = [0.0, 0.0]
    _stack.append(inner)
    try:
        yield
    finally:
        _stack.pop()
        spent_wall, spent_cpu = time.perf_counter() - wall, time.process_time() - cpu
        total = _totals.setdefault(stage, [0.0, 0.0])
        total[0] += spent_wall - inner[0]
        total[1] += spent_cpu - inner[1]
        if _stack:
            _stack[-1][0] += spent_wall
            _stack[-1][1] += spent_cpu


def take() -> dict[str, tuple[float, float]]:
    """The (wall, CPU) seconds of each stage since the last call, and start again."""
    taken = {stage: (wall, cpu) for stage, (wall, cpu) in _totals.items()}
    _totals.clear()
    return taken


def give_back(taken: dict[str, tuple[float, float]]) -> None:
    """Put stages taken earlier back (a customer loaded in the process that times the whole run)."""
    for stage, (wall, cpu) in taken.items():
        total = _totals.setdefault(stage, [0.0, 0.0])
        total[0] += wall
        total[1] += cpu


def add(into: dict[str, tuple[float, float]], more: dict[str, tuple[float, float]]) -> None:
    for stage, (wall, cpu) in more.items():
        old_wall, old_cpu = into.get(stage, (0.0, 0.0))
        into[stage] = (old_wall + wall, old_cpu + cpu)
