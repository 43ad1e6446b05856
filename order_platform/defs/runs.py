"""Run requests over customer partitions, and recovery from runs whose process died.

A run of many customers is one run per contiguous stretch of the partition list (Dagster's partition
ranges), so "all customers" is one run.

Dead runs. Dagster's own facilities do what they can: run monitoring (dagster.yaml, under the daemon)
fails runs that never started, and frees the pool slots of ended runs whose step never gave them back
(`free_slots_after_run_end_seconds`). What they do not cover, `reap_dead_runs` does:
- a run whose local process died (kill -9, out of memory, a machine restart): the default run
  launcher cannot check a run worker's health, and `order-platform refresh` runs in its own process
  with no launcher at all, so Dagster leaves such a run STARTED for ever, holding its pool slots. The
  CLI, the workbook sensor (every 30 s under the daemon) and every run's first step look for runs of
  this host whose process is gone, mark them failed and free their slots and board lease at once;
- ended runs still holding a slot where no daemon may be running (the CLI: `free_ended_runs=True`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from pathlib import Path

import dagster as dg

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
PID_TAG = "order_platform/pid"
HOST_TAG = "order_platform/host"
PROCESS_START_TAG = "order_platform/process_start"
LIVE_STATUSES = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]


def contiguous_ranges(all_keys: Sequence[str], wanted: set[str]) -> list[tuple[str, str]]:
    """The wanted partition keys as as few (first, last) ranges of the partition order as possible."""
    ranges: list[tuple[str, str]] = []
    start: str | None = None
    previous: str | None = None
    for key in all_keys:
        if key in wanted:
            start = start or key
            previous = key
        elif start is not None:
            ranges.append((start, previous or start))
            start = None
    if start is not None:
        ranges.append((start, previous or start))
    return ranges


def refresh_run_config(force: bool, *, audit_board: bool = False, reconcile_board: bool = False) -> dict:
    config: dict = {"force": force}
    if audit_board:
        config["audit_board"] = True
    if reconcile_board:
        config["reconcile_board"] = True
    return {"ops": {"customer_layers": {"config": config}}}


def range_run_request(
    first: str,
    last: str,
    *,
    force: bool,
    audit_board: bool = False,
    reconcile_board: bool = False,
    run_key: str | None = None,
    tags: dict[str, str] | None = None,
) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=run_key,
        run_config=refresh_run_config(force, audit_board=audit_board, reconcile_board=reconcile_board),
        tags={RANGE_START: first, RANGE_END: last, **(tags or {})},
    )


# -- crash recovery -------------------------------------------------------------------------------------
def _process_start(pid: int) -> str | None:
    """The kernel's start time of a process (clock ticks since boot): tells a live pid from a reused one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def process_tags() -> dict[str, str]:
    """Tags naming the process that executes a run, so a later command can tell whether it still lives."""
    pid = os.getpid()
    return {PID_TAG: str(pid), HOST_TAG: socket.gethostname(), PROCESS_START_TAG: _process_start(pid) or ""}


def _alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    current = _process_start(pid)
    return not started or current is None or current == started


def _engine_event_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The run worker's pid as Dagster's launcher logged it ("Started process for run (pid: N)")."""
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        event = record.dagster_event
        if event is None or "Started process for run" not in (event.message or ""):
            continue
        pid = event.engine_event_data.metadata.get("pid")
        if pid is not None:
            return int(str(pid.value))
    return None


def reap_dead_runs(
    instance: dg.DagsterInstance,
    on_reaped: Callable[[str], None] | None = None,
    *,
    free_ended_runs: bool = False,
) -> list[str]:
    """Mark runs of this host whose process is gone as failed and free their pool slots; their ids.
    `on_reaped` frees what else a run held (the monday.com board lease).

    The slots of runs that Dagster itself ended are run monitoring's (`free_slots_after_run_end_seconds`,
    under the daemon); `free_ended_runs=True` frees them too, at once, for callers that may run with no
    daemon (the CLI)."""
    host = socket.gethostname()
    reaped: list[str] = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=LIVE_STATUSES)):
        tags = run.tags
        if tags.get(HOST_TAG, host) != host:
            continue  # another machine's run: its launcher's health check (run monitoring) looks after it
        pid = int(tags[PID_TAG]) if tags.get(PID_TAG) else _engine_event_pid(instance, run.run_id)
        if pid is None or _alive(pid, tags.get(PROCESS_START_TAG, "")):
            continue
        instance.report_run_failed(
            run,
            f"The process of this run (pid {pid}) is gone: it was killed or crashed. Marked failed by "
            "order_platform so that its pool slots are freed; customers it had not finished keep their "
            "previous slice.",
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        if on_reaped:
            on_reaped(run.run_id)
        reaped.append(run.run_id)
    if not free_ended_runs:
        return reaped
    return reaped + _free_slots_of_ended_runs(instance, on_reaped, already_reaped=set(reaped))


def _free_slots_of_ended_runs(
    instance: dg.DagsterInstance, on_reaped: Callable[[str], None] | None, already_reaped: set[str]
) -> list[str]:
    """Ended runs whose pool slots were not given back (the launcher saw the process die, but a killed step
    never releases its slot): what the daemon's run monitoring frees after
    `free_slots_after_run_end_seconds`, at once, for when no daemon runs."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    holders = {
        slot.run_id
        for key in storage.get_concurrency_keys()
        for slot in storage.get_concurrency_info(key).claimed_slots
    }
    freed: list[str] = []
    for run_id in sorted(holders - already_reaped):
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
            if on_reaped:
                on_reaped(run_id)
            freed.append(run_id)
    return freed
