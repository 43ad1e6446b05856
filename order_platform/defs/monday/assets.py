"""The monday.com board items of each customer's ORDER_LIST slice, one partition per customer.

One op syncs every customer of the run in turn through one paced client, so a backfill shares the
API budget instead of racing for it, and the `monday_board` pool keeps one writer per board. Only
what changed is sent (state in the MONDAY_* tables). A customer whose sync is not clean (failed or
skipped records, an aborted run) is not materialised: its counts are recorded as an observation,
the `no_failed_records` check fails and the run fails after the other customers are synced.
"""

from collections.abc import Iterator

import dagster as dg

from order_platform.defs.monday.metadata import first_failures, problem_line, sync_metadata
from order_platform.defs.monday.resources import MondayResource
from order_platform.defs.partitions import customer_partitions
from order_platform.defs.resources import OrderPlatformResource
from order_platform.monday import SyncResult, sync_customer

MONDAY_BOARD_ITEMS = dg.AssetKey("monday_board_items")
ORDER_LIST = dg.AssetKey("order_list")
NO_FAILED_RECORDS = "no_failed_records"
MONDAY_POOL = "monday_board"

Event = dg.AssetMaterialization | dg.AssetObservation | dg.AssetCheckResult


@dg.asset(
    key=MONDAY_BOARD_ITEMS,
    deps=[ORDER_LIST],
    partitions_def=customer_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="delivery",
    pool=MONDAY_POOL,
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"monday"},
    output_required=False,
    check_specs=[
        dg.AssetCheckSpec(
            NO_FAILED_RECORDS,
            asset=MONDAY_BOARD_ITEMS,
            blocking=True,
            description="Every order line of the run's customers reached the board (or was planned, in a dry "
            "run): no failed or skipped records, no aborted sync.",
        )
    ],
    description="The customer's order lines as items of the monday.com Customer Master Schedule board "
    "(group per customer season, one subitem per size). Without MONDAY_API_TOKEN: a dry run that stores "
    "and shows the plan.",
)
def monday_board_items(
    context: dg.AssetExecutionContext, order_platform: OrderPlatformResource, monday: MondayResource
) -> Iterator[Event]:
    customers = list(context.partition_keys)
    settings = monday.settings()
    config = monday.board_config()
    store = order_platform.pipeline().store
    results: dict[str, SyncResult] = {}
    errors: dict[str, str] = {}
    with monday.client(settings, config) as client:
        board = settings.board_id or config.board.id
        mode = "dry run (nothing is sent)" if client is None else f"live, board {board}"
        context.log.info(f"monday.com sync of {len(customers)} customer(s): {mode}")
        for customer in customers:
            lines = store.order_list_for_customer(customer)
            if lines is None:
                errors[customer] = "no published ORDER_LIST slice; materialise order_list first"
                context.log.error(f"{customer}: {errors[customer]}")
                continue
            try:
                result = sync_customer(store.engine, customer, lines, client, settings, config=config)
            except Exception as exc:  # a bug or a broken board: this customer fails, the others go on
                errors[customer] = f"{type(exc).__name__}: {exc}"
                context.log.error(f"{customer}: {errors[customer]}")
                continue
            results[customer] = result
            yield _event(result)
            log = context.log.info if is_clean(result) else context.log.error
            log(_log_line(result))
    yield from _check_result(context, results, errors)
    problems = [problem_line(r) for r in results.values() if not is_clean(r)]
    problems += [f"{c}: {e}" for c, e in errors.items()]
    if problems:
        raise dg.Failure(
            description=f"monday.com sync: {len(problems)} of {len(customers)} customer(s) not clean: "
            + " | ".join(sorted(problems)),
            metadata={"customers": dg.MetadataValue.json(_customer_table(results, errors))},
        )


def is_clean(result: SyncResult) -> bool:
    """Success, or a dry run in which every line could be formatted (a live run would not fail them)."""
    return result.ok and result.failed == 0 and result.skipped == 0


def _event(result: SyncResult) -> dg.AssetMaterialization | dg.AssetObservation:
    """A clean sync (or dry run) materialises the partition; a partial or failed one is only observed."""
    event = dg.AssetMaterialization if is_clean(result) else dg.AssetObservation
    return event(asset_key=MONDAY_BOARD_ITEMS, partition=result.customer, metadata=sync_metadata(result))


def _log_line(result: SyncResult) -> str:
    names = ("created", "updated", "unchanged", "archived", "failed")
    counts = ", ".join(f"{name} {getattr(result, name)}" for name in names)
    return (
        f"{result.customer}: {result.status}; {counts}; {result.requests} requests, "
        f"{result.complexity_spent} complexity, {result.seconds:.2f}s"
        + (f"; {result.message}" if result.message else "")
    )


def _customer_table(results: dict[str, SyncResult], errors: dict[str, str]) -> dict[str, dict]:
    table: dict[str, dict] = {}
    for customer, r in results.items():
        table[customer] = {"status": r.status, "failed": r.failed, "skipped": r.skipped}
        table[customer]["first_failures"] = first_failures(r, 3)
        if r.message:
            table[customer]["message"] = r.message
    table.update({c: {"status": "error", "message": e} for c, e in errors.items()})
    return table


def _check_result(
    context: dg.AssetExecutionContext, results: dict[str, SyncResult], errors: dict[str, str]
) -> Iterator[dg.AssetCheckResult]:
    key = dg.AssetCheckKey(MONDAY_BOARD_ITEMS, NO_FAILED_RECORDS)
    if key not in context.selected_asset_check_keys:
        return
    yield dg.AssetCheckResult(
        asset_key=MONDAY_BOARD_ITEMS,
        check_name=NO_FAILED_RECORDS,
        passed=not errors and all(is_clean(r) for r in results.values()),
        metadata={
            "failed_records": sum(r.failed for r in results.values()),
            "skipped_records": sum(r.skipped for r in results.values()),
            "customers": dg.MetadataValue.json(_customer_table(results, errors)),
        },
    )
