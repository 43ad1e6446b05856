"""The board reconcile as a step of the refresh (run config `reconcile_board: true`; the weekly full
refresh sets it): read the board back, repair what people changed, and per customer a materialisation
with the drift counts and first rows, and the check `board_matches_order_list`.

The logic is plain Python (`monday/reconcile/`); this module names it for Dagster.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg

from order_platform.defs.monday.assets import (
    MONDAY_BOARD_ITEMS,
    NO_FAILED_RECORDS,
    BoardOutcome,
    board_check,
    is_clean,
    sync_board,
)
from order_platform.defs.monday.assets import _check as sync_check
from order_platform.defs.monday.metadata import sync_metadata
from order_platform.defs.monday.resources import MondayResource
from order_platform.monday.mapping import BoardConfig
from order_platform.monday.reconcile import CustomerReconcile, ReconcileResult, reconcile_boards
from order_platform.monday.reconcile.drift import ACTIONS, Finding
from order_platform.monday.state.board_lease import boards_lease
from order_platform.warehouse.store import OrderStore

BOARD_MATCHES = "board_matches_order_list"
ROWS_SHOWN = 20
_COLUMNS = ("action", "item_id", "record_uuid", "column_name", "board_value", "expected_value")

Event = dg.AssetMaterialization | dg.AssetObservation | dg.AssetCheckEvaluation


def reconcile_check_spec(partitions_def: dg.PartitionsDefinition) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        BOARD_MATCHES,
        asset=MONDAY_BOARD_ITEMS,
        blocking=False,
        partitions_def=partitions_def,
        description="Evaluated by a reconcile (run config reconcile_board: true, the weekly full refresh): the "
        "board was read back and every platform cell, item, group and subitem of the customer matches ORDER_LIST "
        "after the repair. Fails when drift was found that could not be repaired (MONDAY_DRIFT, action reported).",
    )


def reconcile_board_step(
    context: dg.AssetExecutionContext,
    customers: list[str],
    store: OrderStore,
    monday: MondayResource,
    outcome: BoardOutcome,
    checks: set[str],
) -> Iterator[Event]:
    """Reconcile the customers' boards; without a token the board cannot be read: the plain (dry-run) sync.
    `checks`: the names of the selected checks of the monday.com asset."""
    settings = monday.settings()
    config = monday.board_config()
    if not monday.is_live():
        context.log.warning(
            "reconcile_board: the board cannot be read without MONDAY_API_TOKEN (or with dry_run): nothing was "
            "compared; the plain sync runs instead and board_matches_order_list is not evaluated"
        )
        yield from sync_board(context, customers, store, monday, outcome, NO_FAILED_RECORDS in checks)
        return
    unpublished = [c for c in customers if store.last_load(c, "published") is None]
    for customer in unpublished:
        outcome.problems[customer] = "no published ORDER_LIST slice; materialise order_list first"
        if BOARD_MATCHES in checks:
            yield board_check(customer, BOARD_MATCHES, False, outcome.problems[customer], blocking=False)
    customers = [c for c in customers if c not in unpublished]
    if not customers:
        return
    boards = [settings.board_id or config.board.id, *(b.id for b in config.extra_boards)]
    try:
        result = _reconcile(context, customers, store, monday, config, boards)
    except Exception as exc:  # the board could not be read or repaired: every customer of the step fails
        # a warning as it happens: the run's error line (the step's failure) names every customer
        context.log.warning("reconcile of the board failed", exc_info=True)
        for customer in customers:
            outcome.problems[customer] = f"reconcile failed: {type(exc).__name__}: {exc}"
            if BOARD_MATCHES in checks:
                yield board_check(customer, BOARD_MATCHES, False, outcome.problems[customer], blocking=False)
        return
    for line in result.lines():
        context.log.info(line)
    for customer, done in result.customers.items():
        if customer not in customers:  # items no customer owns: in the log line above
            continue
        metadata = reconcile_metadata(done, config)
        if done.status == "failed" or done.sync is None:
            outcome.problems[customer] = done.message or f"reconcile {done.status}"
            yield dg.AssetObservation(asset_key=MONDAY_BOARD_ITEMS, partition=customer, metadata=metadata)
        else:
            yield dg.AssetMaterialization(asset_key=MONDAY_BOARD_ITEMS, partition=customer, metadata=metadata)
            if not done.matches:
                outcome.problems[customer] = f"the board does not match ORDER_LIST after the reconcile: {done.line()}"
        if BOARD_MATCHES in checks:
            yield check_evaluation(done)
        if NO_FAILED_RECORDS in checks and done.sync is not None:
            yield sync_check(done.sync, is_clean(done.sync))


def _reconcile(
    context: dg.AssetExecutionContext,
    customers: list[str],
    store: OrderStore,
    monday: MondayResource,
    config: BoardConfig,
    boards: list[str],
) -> ReconcileResult:
    settings = monday.settings()
    with (
        monday.client(settings, config, store.engine) as client,
        boards_lease(
            store.engine,
            boards,
            context.run.run_id,
            on_wait=lambda other: context.log.info(f"waiting for the board: run {other} is syncing it"),
        ),
    ):
        assert client is not None  # is_live: a token is set
        context.log.info(f"reconcile of board(s) {', '.join(boards)} for {len(customers)} customer(s)")
        return reconcile_boards(store, customers, client, settings, config=config, run=context.run.run_id)


def reconcile_metadata(done: CustomerReconcile, config: BoardConfig) -> dict[str, Any]:
    metadata: dict[str, Any] = sync_metadata(done.sync, config) if done.sync is not None else {}
    counts = done.counts()
    metadata.update(
        {
            "reconcile_status": dg.MetadataValue.text(done.status),
            "drift_found": dg.MetadataValue.int(len(done.findings)),
            **{f"drift_{action}": dg.MetadataValue.int(counts[action]) for action in ACTIONS},
            "drift_unrepaired": dg.MetadataValue.int(done.unrepaired),
            "items_checked": dg.MetadataValue.int(done.checked_items),
            "drift_first_rows": drift_table_value(done.findings[:ROWS_SHOWN]),
        }
    )
    return metadata


def drift_table_value(findings: list[Finding]) -> dg.TableMetadataValue:
    schema = dg.TableSchema(columns=[dg.TableColumn(name, "string") for name in _COLUMNS])
    records = [
        dg.TableRecord(
            {
                "action": f.action if f.repaired or f.action == "reported" else "reported",
                "item_id": f.item_id or "",
                "record_uuid": f.record_uuid or "",
                "column_name": f.column_name or "",
                "board_value": (f.board_value or "")[:200],
                "expected_value": (f.expected_value or "")[:200],
            }
        )
        for f in findings
    ]
    return dg.MetadataValue.table(records, schema)


def check_evaluation(done: CustomerReconcile) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=MONDAY_BOARD_ITEMS,
        check_name=BOARD_MATCHES,
        passed=done.matches,
        partition=done.customer,
        blocking=False,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if done.matches else done.line()[:1000],
        metadata={
            "reconcile_status": done.status,
            "drift_found": len(done.findings),
            "drift_unrepaired": done.unrepaired,
            "items_checked": done.checked_items,
        },
    )
