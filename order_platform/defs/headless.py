"""Running the refresh without the UI, into the same Dagster instance the UI reads (the CLI's `refresh`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dagster as dg

from order_platform.defs.instance import databases_held_open, ensure_dagster_home
from order_platform.defs.instance_sqlite import tuned_instance_writes
from order_platform.defs.jobs import REFRESH_JOB
from order_platform.defs.monday.assets import MONDAY_BOARD_ITEMS
from order_platform.defs.notify.sensors import notify_after_run
from order_platform.defs.order_list.assets import LAYER_OF, ORDER_LIST_SLICE
from order_platform.defs.order_list.metadata import WORKER_PEAK_MEMORY
from order_platform.defs.partitions import CUSTOMER
from order_platform.defs.resources import OrderPlatformResource
from order_platform.defs.runs import (
    RANGE_END,
    RANGE_START,
    contiguous_ranges,
    process_tags,
    reap_dead_runs,
    refresh_run_config,
)
from order_platform.ingest.source import WorkbookRef
from order_platform.load import stages
from order_platform.load.pipeline import OrderListPipeline
from order_platform.notify.notices import Notice
from order_platform.settings import PlatformSettings
from order_platform.staging.customers import customer_directory
from order_platform.workers import read_ahead
from order_platform.workers.read_ahead import ReadAheadStats
from order_platform.workers.runner import start_worker_server

# The terminal gets the run's few progress lines and every problem (the per-customer figures are on the
# materialisations, and in the summary the CLI prints); every event is still in the instance (UI).
CONSOLE_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


class UnknownCustomerError(ValueError):
    pass


@dataclass
class RefreshOutcome:
    """What this refresh's own runs did (never another process's loads), per customer."""

    started: datetime
    customers: list[str]
    loads: list[dict] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)
    runs_failed: int = 0
    run_errors: list[str] = field(default_factory=list)  # why each failed run failed, first error first
    monday: dict[str, dict] = field(default_factory=dict)  # customer -> its MONDAY_SYNC_RUN row of this refresh
    unchanged: list[str] = field(default_factory=list)
    skipped_in_source: list[str] = field(default_factory=list)  # what the source listing passed over, and why
    reaped_runs: list[str] = field(default_factory=list)
    source_removed: list[str] = field(default_factory=list)  # workbook gone: reported, not run, not failed
    # (wall, CPU) seconds per stage (load/stages.py): the customers' loads summed over the workers, and
    # this process's own (listing, the Dagster run, its events, the board sync)
    load_stages: dict[str, tuple[float, float]] = field(default_factory=dict)
    run_stages: dict[str, tuple[float, float]] = field(default_factory=dict)
    # what the fork server read ahead while Dagster started the run (workers/read_ahead.py); None: nothing
    read_ahead: ReadAheadStats | None = None
    worker_peak_mb: float = 0.0  # the largest worker's peak resident memory while it loaded a customer
    notices: list[Notice] = field(default_factory=list)  # the runs' messages (Teams or the run log)

    @property
    def failed(self) -> list[dict]:
        return [load for load in self.loads if load["status"] == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and self.runs_failed == 0


def register_customers(instance: dg.DagsterInstance, customers: list[str]) -> list[str]:
    known = set(instance.get_dynamic_partitions(CUSTOMER))
    new = [c for c in customers if c not in known]
    if new:
        instance.add_dynamic_partitions(CUSTOMER, new)
    return new


def load_definitions() -> dg.Definitions:
    from order_platform.definitions import defs  # after DAGSTER_HOME is set

    return defs()


def refresh(
    names: list[str] | None = None,
    *,
    force: bool = True,
    monday: bool = True,
    settings: PlatformSettings | None = None,
    ahead: read_ahead.ReadAheadHandle | None = None,
) -> RefreshOutcome:
    """Every layer, workbook to board (a dry run without MONDAY_API_TOKEN), for the named customers
    (default: every workbook in the source), in as few runs as the partition order allows (one for all).
    `ahead`: a read-ahead the caller started (the CLI, `read_ahead.start_for_refresh`); else one is
    started here once the listing is known."""
    settings = settings or PlatformSettings()
    home = ensure_dagster_home(settings)
    earlier = stages.take()
    with stages.timed("listing"):
        resource = OrderPlatformResource()
        pipeline = resource.pipeline()
        listing = pipeline.workbooks()
        skipped_in_source = list(pipeline.listing_notes)
        removed = pipeline.removed_customers(listing)  # logged 'source_removed'; not run
    if names:
        directory = customer_directory()
        wanted = {directory.partition_key(n) for n in names}
        missing = sorted(w for w in wanted if w not in listing and w not in removed)
        if missing:
            raise UnknownCustomerError(
                f"no workbook for {missing} in {pipeline.source.describe()}; customers there: {sorted(listing)}"
            )
        removed = sorted(wanted & set(removed))
        wanted -= set(removed)
    else:
        wanted = set(listing)
    if ahead is None:
        with stages.timed("listing"):
            ahead = _read_ahead(settings, resource, pipeline, listing, wanted, force)
    try:
        with stages.timed("run"), tuned_instance_writes(home):  # from the instance's set-up on
            outcome = _run(wanted, listing, removed, skipped_in_source, resource, pipeline, force, monday)
    finally:
        stats = ahead.finish() if ahead else None  # the server lets go of what it read
    outcome.read_ahead = stats
    outcome.run_stages = stages.take()
    stages.give_back(earlier)
    return outcome


def _read_ahead(
    settings: PlatformSettings,
    resource: OrderPlatformResource,
    pipeline: OrderListPipeline,
    listing: dict[str, list[WorkbookRef]],
    wanted: set[str],
    force: bool,
) -> read_ahead.ReadAheadHandle | None:
    """Have the fork server read ahead what this refresh will load while Dagster starts the run; only when
    the run's customers load in worker processes forked from it (not in this process)."""
    limits = resource.worker_limits()
    if not read_ahead.should_read_ahead(settings, resource.worker_count(), limits):
        return None
    return read_ahead.start(pipeline, listing, wanted, force=force, memory_mb=limits.memory_mb)


def _run(
    wanted: set[str],
    listing: dict[str, list[WorkbookRef]],
    removed: list[str],
    skipped_in_source: list[str],
    resource: OrderPlatformResource,
    pipeline: OrderListPipeline,
    force: bool,
    monday: bool,
) -> RefreshOutcome:
    """The Dagster part of `refresh`: the code location, the instance, the run(s)."""
    start_worker_server()  # its imports overlap with Dagster loading and planning the run
    defs = load_definitions()
    instance = dg.DagsterInstance.get()
    # No daemon may be running here (run monitoring frees ended runs' slots): the CLI frees them itself.
    reaped = reap_dead_runs(instance, resource.release_run_holdings, free_ended_runs=True)
    outcome = RefreshOutcome(
        datetime.now(), sorted(wanted), reaped_runs=reaped, source_removed=removed, skipped_in_source=skipped_in_source
    )
    register_customers(instance, sorted(listing))
    order = instance.get_dynamic_partitions(CUSTOMER)
    job = defs.resolve_job_def(REFRESH_JOB)
    selection = [*LAYER_OF, MONDAY_BOARD_ITEMS] if monday else list(LAYER_OF)
    for first, last in contiguous_ranges(order, wanted):
        with databases_held_open(instance.root_directory):
            result = job.execute_in_process(
            instance=instance,
                run_config={**refresh_run_config(force), **CONSOLE_INFO},
                tags={RANGE_START: first, RANGE_END: last, "order_platform/trigger": "cli", **process_tags()},
                asset_selection=selection,
                raise_on_error=False,
            )
        outcome.run_ids.append(result.run_id)
        outcome.runs_failed += 0 if result.success else 1
        _collect(result, outcome, pipeline.store)
        run = instance.get_run_by_id(result.run_id)
        if run is not None:  # the run-status sensors would, with a daemon; whichever is first sends (once)
            outcome.notices.extend(notify_after_run(instance, run))
    outcome.loads.sort(key=lambda load: load["customer"])
    return outcome


def _collect(result: dg.ExecuteInProcessResult, outcome: RefreshOutcome, store: Any) -> None:
    """This run's customers, from its own events: load records by load id, errors from its failure."""
    load_ids: dict[str, str] = {}
    sync_runs: dict[str, int] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        customer = materialization.partition
        metadata = materialization.metadata
        if WORKER_PEAK_MEMORY in metadata:
            outcome.worker_peak_mb = max(outcome.worker_peak_mb, float(str(metadata[WORKER_PEAK_MEMORY].value)))
        if materialization.asset_key == ORDER_LIST_SLICE and customer:
            if "stage_seconds" in metadata and isinstance(metadata["stage_seconds"].value, dict):
                stages.add(outcome.load_stages, {k: (w, c) for k, (w, c) in metadata["stage_seconds"].value.items()})
            if "load_id" in metadata:
                load_ids[customer] = str(metadata["load_id"].value)
            elif "unchanged" in metadata:
                outcome.unchanged.append(customer)
        if materialization.asset_key == MONDAY_BOARD_ITEMS and customer and "sync_run_id" in metadata:
            sync_runs[customer] = int(str(metadata["sync_run_id"].value))
    for event in result.all_events:
        if event.event_type_value == "ASSET_OBSERVATION":
            observation = event.asset_observation_data.asset_observation
            if observation.asset_key == MONDAY_BOARD_ITEMS and "sync_run_id" in observation.metadata:
                sync_runs[str(observation.partition)] = int(str(observation.metadata["sync_run_id"].value))
    loads = store.loads_by_id(list(load_ids.values()))
    failures: dict[str, str] = {}
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure:
                data = event.step_failure_data.user_failure_data
                failed = data.metadata.get("failed_customers") if data else None
                if failed is not None and isinstance(failed.value, dict):
                    failures.update({str(c): str(e) for c, e in failed.value.items()})
                info = event.step_failure_data.error
                reason = (data.description if data else None) or (info.message.strip() if info else "")
                outcome.run_errors.append(f"run {result.run_id}: {reason or event.message or 'step failed'}")
            elif event.is_run_failure and not outcome.run_errors:
                outcome.run_errors.append(f"run {result.run_id}: {event.message or 'run failed'}")
    for customer, error in failures.items():
        if customer in load_ids:
            continue  # published; its board sync failed (shown with the monday.com line)
        last = store.last_load(customer)
        if last and last["status"] == "failed" and last["started_at"] >= outcome.started:
            loads.append(last)
        else:
            loads.append({"customer": customer, "status": "failed", "error": error})
    outcome.loads.extend(loads)
    if sync_runs:
        outcome.monday.update(store_sync_runs(store, sync_runs))


def store_sync_runs(store: Any, sync_runs: dict[str, int]) -> dict[str, dict]:
    import sqlalchemy as sa

    from order_platform.monday.state.sync_state import run_table

    query = sa.select(run_table).where(run_table.c.run_id.in_(list(sync_runs.values())))
    with store.engine.connect() as conn:
        return {row["customer"]: dict(row) for row in conn.execute(query).mappings()}


def run_sensor_tick(*, monday: bool = True) -> int:
    """One tick of the workbook sensor, its run requests executed here (the bench's changed-workbook
    figure: what the daemon would do, without waiting for it); the number of runs it requested."""
    from order_platform.defs.order_list.sensors import workbook_sensor

    defs = load_definitions()
    instance = dg.DagsterInstance.get()
    job = defs.resolve_job_def(REFRESH_JOB)
    context = dg.build_sensor_context(instance=instance, resources={"order_platform": OrderPlatformResource()})
    result = workbook_sensor(context)
    requests = list(result.run_requests or []) if isinstance(result, dg.SensorResult) else []
    for request in requests:
        job.execute_in_process(
            instance=instance,
            partition_key=request.partition_key,
            run_config=request.run_config,
            tags=request.tags,
            asset_selection=[*LAYER_OF, MONDAY_BOARD_ITEMS] if monday else list(LAYER_OF),
            raise_on_error=False,
        )
    return len(requests)


def prepare_instance(settings: PlatformSettings) -> dg.Definitions:
    """What a running deployment has paid once: the code location loaded and the instance opened."""
    ensure_dagster_home(settings)
    dg.DagsterInstance.get()
    return load_definitions()


def forget_customer_partition(customer: str, settings: PlatformSettings | None = None) -> bool:
    """Remove a retired customer's partition from the Dagster instance (its history stays); True if it had one."""
    ensure_dagster_home(settings or PlatformSettings())
    instance = dg.DagsterInstance.get()
    if customer not in instance.get_dynamic_partitions(CUSTOMER):
        return False
    instance.delete_dynamic_partition(CUSTOMER, customer)
    return True
