"""Every layer of a customer, workbook to board, computed by one subsettable, partitioned op.

Why one op: a run of many customers must show each customer's own truth. Dagster marks a
partition failed when a failed run planned it and did not materialise it, and a downstream step in
the same run is skipped unless the upstream step yields outputs (which would mark every partition of
the run materialised, the failed ones included). So the op materialises, per customer, exactly the
layers that customer completed (source -> blob -> raw -> staging -> ORDER_LIST -> monday.com items),
evaluates every check per customer, and fails at the end naming the customers that failed: those,
and only those, are red. Customers load side by side in worker processes (`runner.py`); the board
sync follows in this process, through one paced client (a dry run too: the run-wide check of the board's
item limit sees every customer's plan before any is stored); each published customer's board lines are
read and built meanwhile, as its report arrives (defs/monday/preparation.py).
"""


import logging
from collections.abc import Iterator
from contextlib import closing

import dagster as dg

from order_platform.defs.check_results import Event, carried_forward, check_outputs, with_target
from order_platform.defs.instance import databases_held_open
from order_platform.defs.instance_sqlite import tuned_instance_writes
from order_platform.defs.monday.assets import (
    MONDAY_BOARD_ITEMS,
    NO_FAILED_RECORDS,
    BoardOutcome,
    in_step_check,
    monday_check_specs,
    monday_spec,
    sync_board,
)
from order_platform.defs.monday.preparation import BoardPreparation
from order_platform.defs.monday.reconcile import reconcile_board_step, reconcile_check_spec
from order_platform.defs.monday.resources import MondayResource
from order_platform.defs.order_list.assets import (
    LAYER_OF,
    METADATA_OF,
    ORDER_LIST_SLICE,
    SOURCE_WORKBOOK,
    order_list_specs,
)
from order_platform.defs.order_list.checks import check_evaluations, order_list_check_specs
from order_platform.defs.partitions import customer_partitions
from order_platform.defs.resources import OrderPlatformResource
from order_platform.defs.runs import process_tags, reap_dead_runs
from order_platform.load.report import CustomerReport
from order_platform.load.stages import timed
from order_platform.monday.plan.lines import Target
from order_platform.monday.state.freshness import boards_behind
from order_platform.settings import PlatformSettings
from order_platform.workers.collector import settle_start_up
from order_platform.workers.runner import run_customers, start_worker_server

# Steps of this op that may run at once across runs (dagster.yaml: 1 with SQLite). Within a step,
# ORDER_PLATFORM_WORKERS processes load customers side by side.
LOAD_POOL = "order_platform_load"


class RefreshConfig(dg.Config):
    force: bool = True
    """Reload even when the workbook is unchanged since the customer's last published load."""
    audit_board: bool = False
    """After the board sync, scan the whole board for duplicate items and subitems and remove them."""
    reconcile_board: bool = False
    """Read the board back, repair what people changed on the platform's columns and items, record the drift
    (MONDAY_DRIFT) and evaluate board_matches_order_list (instead of the plain sync; needs MONDAY_API_TOKEN)."""
    po_number: str | None = None
    """Board only: sync just this PO of the selected customer(s) (a targeted sync, as the old tool's)."""
    aag_season: str | None = None
    """Board only: sync just this AAG SEASON of the selected customer(s)."""
    customer_season: str | None = None
    """Board only: sync just this CUSTOMER SEASON of the selected customer(s)."""

    def target(self) -> Target | None:
        """The targeted sync asked for, if any filter is set (checked when the run starts)."""
        values = (self.po_number, self.aag_season, self.customer_season)
        if not any(v and v.strip() for v in values):
            return None
        return Target(po_number=self.po_number, aag_season=self.aag_season, customer_season=self.customer_season)


def build_customer_layers(backfill_policy: dg.BackfillPolicy | None = None) -> dg.AssetsDefinition:
    @dg.multi_asset(
        specs=[*order_list_specs(), monday_spec(ORDER_LIST_SLICE)],
        check_specs=[
            *order_list_check_specs(),
            *monday_check_specs(),
            reconcile_check_spec(customer_partitions),
        ],
        partitions_def=customer_partitions,
        backfill_policy=backfill_policy or dg.BackfillPolicy.single_run(),
        can_subset=True,
        pool=LOAD_POOL,
        name="customer_layers",
    )
    def customer_layers(
        context: dg.AssetExecutionContext,
        config: RefreshConfig,
        order_platform: OrderPlatformResource,
        monday: MondayResource,
    ) -> Iterator[Event]:
        # every check evaluation targets the materialisation it checked: the UI shows it per customer
        with tuned_instance_writes(context.instance.root_directory):  # an embedded instance's events
            events = run_layers(context, config, order_platform, monday)
            yield from with_target(context.instance, context.run_id, events)

    return customer_layers


@dg.definitions
def customer_layers_defs() -> dg.Definitions:
    per_run = PlatformSettings().backfill_partitions_per_run
    policy = dg.BackfillPolicy.multi_run(per_run) if per_run else dg.BackfillPolicy.single_run()
    return dg.Definitions(assets=[build_customer_layers(policy)])


def run_layers(
    context: dg.AssetExecutionContext,
    config: RefreshConfig,
    order_platform: OrderPlatformResource,
    monday: MondayResource,
) -> Iterator[Event]:
    selected = set(context.selected_asset_keys)
    checks = set(context.selected_asset_check_keys)
    customers = list(context.partition_keys)
    layers = frozenset(LAYER_OF[k] for k in selected if k in LAYER_OF)
    settle_start_up()  # any run's process (CLI, UI, daemon): the collector leaves its start-up alone
    if layers:
        start_worker_server()  # its imports (~1 s) overlap with what follows
    context.instance.add_run_tags(context.run.run_id, process_tags())
    for run_id in reap_dead_runs(context.instance, order_platform.release_run_holdings):
        context.log.warning(f"run {run_id} had died without ending; marked failed and its pool slots freed")
    failed: dict[str, str] = {}
    workbooks: dict[str, str] = {}  # the failed customers' workbooks, for the failure message (defs/notify)
    board: list[str] = list(customers)
    loaded: list[str] = list(customers)  # the customers whose board a reconcile reads
    board_outcome = BoardOutcome()
    board_check = dg.AssetCheckKey(MONDAY_BOARD_ITEMS, NO_FAILED_RECORDS) in checks
    preparation: BoardPreparation | None = None
    if layers:
        context.log.info(f"{len(customers)} customer(s), layers {sorted(layers)}, force={config.force}")
        pipeline = order_platform.pipeline()
        listing = pipeline.workbooks()
        for note in pipeline.listing_notes:
            context.log.warning(f"source listing: {note}")
        reports: list[CustomerReport] = []
        # the board sync's reading and payload building, while the workers load the next customers
        preparation = (
            BoardPreparation(order_platform.pipeline().store, monday, config.target())
            if MONDAY_BOARD_ITEMS in selected and "order_list" in layers and not config.reconcile_board
            else None
        )
        loads = run_customers(
            order_platform.spec(),
            customers,
            layers=layers,
            force=config.force,
            workers=order_platform.worker_count(),
            listing=listing,
            limits=order_platform.worker_limits(),
            # a worker's error records are warnings here: the run's error line is the summary of every failure
            on_log=lambda customer, level, message: context.log.log(
                min(level, logging.WARNING), f"{customer}: {message}"
            ),
            start_next_first=True,  # workers go on while Dagster stores a finished customer's events
        )
        # closing: a terminated run stops its workers at once; the instance's databases held open: every
        # event's connection closes without a checkpoint (defs/instance.py)
        with closing(loads), databases_held_open(context.instance.root_directory):
            for report in loads:
                reports.append(report)
                if report.source_path:
                    workbooks[report.customer] = report.source_path
                with timed("dagster_events"):  # Dagster stores the events while this generator waits
                    yield from layer_events(report, selected)
                    yield from check_evaluations(report, checks)
                if preparation is not None and report.ok and not report.unchanged and not report.source_removed:
                    with timed("board_prepare"):
                        preparation.add(report.customer, report.published_slice)
                # a published customer's figures are on its materialisations (one event each, not a log
                # line too: on SQLite every event costs a connection, and the run writes ~800 of them)
                if report.source_removed:
                    context.log.warning(f"{report.customer}: source removed: {report.note}")
                elif not report.ok:
                    failed[report.customer] = report.error or "failed"
                    detail = f"\n{report.traceback}" if report.traceback else ""
                    # a warning as it happens; the run's error (the step's failure) names every customer
                    context.log.warning(f"{report.customer} failed: {report.error}{detail}")
        unchanged = [r.customer for r in reports if r.ok and r.unchanged and not r.source_removed]
        yield from carried_forward(context.instance, {c for c in checks if c.asset_key in LAYER_OF}, unchanged)
        loaded = [r.customer for r in reports if r.ok and not r.source_removed]
        if "order_list" in layers:
            board = _needing_sync(order_platform, reports)
        else:
            board = [r.customer for r in reports if r.ok]
    if MONDAY_BOARD_ITEMS in selected:
        if config.reconcile_board and config.target() is None:
            yield from reconcile_board_step(
                context,
                loaded,
                order_platform.pipeline().store,
                monday,
                board_outcome,
                {key.name for key in checks if key.asset_key == MONDAY_BOARD_ITEMS},
            )
            board = loaded
        else:
            yield from sync_board(
                context,
                board,
                order_platform.pipeline().store,
                monday,
                board_outcome,
                board_check,
                target=config.target(),
                audit=config.audit_board,
                prepared=preparation.sources if preparation is not None else None,
            )
        in_step = "the board already shows the current slice; nothing to send"
        for customer in sorted(set(customers) - set(board) - set(failed)):
            yield dg.AssetMaterialization(
                asset_key=MONDAY_BOARD_ITEMS, partition=customer, metadata={"in_step": True, "note": in_step}
            )
            if dg.AssetCheckKey(MONDAY_BOARD_ITEMS, NO_FAILED_RECORDS) in checks:
                yield in_step_check(customer, in_step)
        failed.update({c: f"monday.com: {p}" for c, p in board_outcome.problems.items()})
    yield from check_outputs(context)
    if failed:
        summary = failure_summary(failed, len(customers))
        context.log.error(summary)  # the run's first error line: which customers, and why
        raise dg.Failure(
            description=summary,
            metadata={
                "failed_customers": dg.MetadataValue.json(dict(sorted(failed.items()))),
                "failed_workbooks": dg.MetadataValue.json({c: workbooks[c] for c in sorted(failed) if c in workbooks}),
            },
        )


def failure_summary(failed: dict[str, str], customers: int) -> str:
    """`2 of 46 customers failed: AJE: ...; TITLE NINE: ...`, each customer's error on its first line."""
    noun = "customer" if customers == 1 else "customers"
    reasons = "; ".join(f"{c}: {(e.strip() or 'failed').splitlines()[0]}" for c, e in sorted(failed.items()))
    return f"{len(failed)} of {customers} {noun} failed: {reasons}"


def _needing_sync(order_platform: OrderPlatformResource, reports: list[CustomerReport]) -> list[str]:
    """Published customers, and unchanged ones whose board is behind (an interrupted or skipped sync)."""
    store = order_platform.pipeline().store
    # a customer whose workbook is gone keeps its board as it is until it is retired
    loaded = [r for r in reports if r.ok and not r.source_removed]
    published_at = {}
    for report in loaded:
        if report.unchanged:
            last = store.last_load(report.customer, "published")
            published_at[report.customer] = last["finished_at"] if last else None
    behind = boards_behind(store.engine, published_at)
    return [r.customer for r in loaded if not r.unchanged or r.customer in behind]


def layer_events(
    report: CustomerReport, selected: set[dg.AssetKey]
) -> Iterator[dg.AssetMaterialization | dg.AssetObservation]:
    """A materialisation per layer the customer completed: the selected ones, and any layer the run
    rewrote on the way (materialising `order_list` alone re-stages, so staging is recorded too)."""
    if report.source_removed:  # shown on the customer's source partition; `order-platform retire` ends it
        yield dg.AssetObservation(
            asset_key=SOURCE_WORKBOOK,
            partition=report.customer,
            metadata={"status": "source_removed", "note": report.note or ""},
        )
        return
    for key, layer in LAYER_OF.items():
        if report.unchanged:
            if key in selected:
                yield dg.AssetMaterialization(
                    asset_key=key,
                    partition=report.customer,
                    metadata={
                        "unchanged": True,
                        "note": "the workbook is unchanged since the customer's last published load; not re-read",
                        "source_path": report.source_path or "",
                    },
                )
        elif layer in report.layers:
            yield dg.AssetMaterialization(asset_key=key, partition=report.customer, metadata=METADATA_OF[key](report))
