"""The monday.com board items of a customer: the asset spec, its check, and the sync step of a run.

The items are computed by the same op as the ORDER_LIST layers (`defs/customer_layers.py`), right
after them, so "Materialize all" reaches the board in the same run and a customer's board follows
its own load only. The logic is plain Python in `monday/` (`sync_customer`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import dagster as dg

from order_platform.defs.formatting import count
from order_platform.defs.monday.metadata import first_failures, problem_line, sync_metadata
from order_platform.defs.monday.resources import MondayResource
from order_platform.defs.partitions import customer_partitions
from order_platform.load.stages import timed
from order_platform.monday import BoardConfig, MondayClient, MondaySettings, SyncResult
from order_platform.monday.api.answers import MondayError
from order_platform.monday.capacity import plan_capacity, record_refusal, refusals
from order_platform.monday.plan.lines import LineSource, Target, store_source
from order_platform.monday.state.board_lease import boards_lease
from order_platform.monday.sync import effective_config, sync_customer
from order_platform.warehouse.store import OrderStore

MONDAY_BOARD_ITEMS = dg.AssetKey("monday_board_items")
NO_FAILED_RECORDS = "no_failed_records"


def monday_spec(upstream: dg.AssetKey) -> dg.AssetSpec:
    return dg.AssetSpec(
        MONDAY_BOARD_ITEMS,
        deps=[upstream],
        group_name="delivery",
        kinds={"monday"},
        skippable=True,
        # After a run that loaded ORDER_LIST without the board (a selection of layers), the
        # `monday_automation` sensor requests the board sync of the customers it published.
        automation_condition=dg.AutomationCondition.eager(),
        description="The customer's order lines as items of the monday.com Customer Master Schedule board "
        "(group per customer season, one subitem per size). Without MONDAY_API_TOKEN: a dry run that stores "
        "and shows the plan.",
    )


def monday_check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            NO_FAILED_RECORDS,
            asset=MONDAY_BOARD_ITEMS,
            blocking=True,
            partitions_def=customer_partitions,
            description="Every order line of the customer reached the board (or was planned, in a dry run): "
            "no failed or skipped records, no aborted sync.",
        )
    ]


def is_clean(result: SyncResult) -> bool:
    """Success, or a dry run in which every line could be planned."""
    return result.ok and result.failed == 0 and result.skipped == 0


@dataclass
class BoardOutcome:
    """The customers a sync step could not bring in step with their slice, and why."""

    problems: dict[str, str] = field(default_factory=dict)


def sync_board(
    context: dg.AssetExecutionContext,
    customers: list[str],
    store: OrderStore,
    monday: MondayResource,
    outcome: BoardOutcome,
    check_selected: bool,
    *,
    target: Target | None = None,
    audit: bool = False,
    prepared: Mapping[str, LineSource] | None = None,
) -> Iterator[dg.AssetMaterialization | dg.AssetObservation | dg.AssetCheckEvaluation]:
    """Sync each customer's current slice (or the `target` lines of it) in turn through one paced client,
    holding the boards' leases (one writer per board across runs and pods). `prepared`: the customers'
    lines already read while the run loaded (defs/monday/preparation.py); the others are read here."""
    prepared = prepared or {}
    settings = monday.settings()
    config = monday.board_config()
    boards = [settings.board_id or config.board.id, *(b.id for b in config.extra_boards)]
    with (
        monday.client(settings, config, store.engine) as client,
        boards_lease(
            store.engine,
            boards,
            context.run.run_id,
            on_wait=lambda other: context.log.info(f"waiting for the board: run {other} is syncing it"),
        ),
    ):
        mode = "dry run (nothing is sent)" if client is None else f"live, board(s) {', '.join(boards)}"
        scope = f", only {target}" if target else ""
        context.log.info(f"monday.com sync of {len(customers)} customer(s): {mode}{scope}")
        # each customer's published slice, read once for the limit check and the sync: as prepared while
        # the run loaded, else from the store (None: never published)
        sources = {c: prepared.get(c) or store_source(store, c) for c in customers}
        try:
            refused = whole_plan_refusals(store, sources, client, settings, config, target)
        except MondayError as exc:  # the board cannot be read: each customer's sync meets it and says so
            context.log.warning(f"the run's plan could not be checked against the board's limit: {exc.message}")
            refused = {}
        in_step: list[SyncResult] = []  # the customers synced cleanly
        # A dry run plans every customer in a moment: its check evaluations follow all its materialisations,
        # so that their targets are read in one query (defs/check_results.py), not one per customer. A live
        # sync evaluates each customer's check as soon as its board is written.
        deferred: list[dg.AssetCheckEvaluation] | None = [] if client is None else None
        for customer in customers:
            if customer in refused:
                refusal = record_refusal(store.engine, customer, boards[0], client is None, refused[customer])
                outcome.problems[customer] = problem_line(refusal)
                context.log.warning(f"{customer}: monday.com {refused[customer]}")  # the summary is the error
                yield dg.AssetObservation(
                    asset_key=MONDAY_BOARD_ITEMS, partition=customer, metadata=sync_metadata(refusal, config)
                )
                if check_selected:
                    yield from _evaluate(_check(refusal, False), deferred)
                continue
            try:
                with timed("board_plan"):
                    source = sources[customer]
                    result = None if source is None else sync_customer(
                        store.engine, customer, source, client, settings, config=config, target=target, audit=audit
                    )
            except Exception as exc:  # a bug or a broken board: this customer fails, the others go on
                outcome.problems[customer] = f"{type(exc).__name__}: {exc}"
                # warnings as they happen: the run's error line (the step's failure) names every customer
                context.log.warning(f"{customer}: monday.com sync failed", exc_info=True)
                if check_selected:
                    yield from _evaluate(
                        board_check(customer, NO_FAILED_RECORDS, False, outcome.problems[customer]), deferred
                    )
                continue
            if result is None:
                outcome.problems[customer] = "no published ORDER_LIST slice; materialise order_list first"
                context.log.warning(f"{customer}: {outcome.problems[customer]}")
                if check_selected:
                    yield from _evaluate(
                        board_check(customer, NO_FAILED_RECORDS, False, outcome.problems[customer]), deferred
                    )
                continue
            if result.cell_issues:
                context.log.warning(
                    f"{customer}: {result.cell_issues} cell(s) could not be sent as written and were cleared or "
                    "neutralised on the board (MONDAY_CELL_ISSUE; see the cell_issue_sample metadata)"
                )
            clean = is_clean(result)
            # a targeted sync brings part of the slice: it is recorded, but does not stand for the partition
            event = dg.AssetMaterialization if clean and target is None else dg.AssetObservation
            yield event(asset_key=MONDAY_BOARD_ITEMS, partition=customer, metadata=sync_metadata(result, config))
            if check_selected:
                yield from _evaluate(_check(result, clean), deferred)
            if clean:  # its counts are on its materialisation; the run's line below sums them
                in_step.append(result)
            else:
                outcome.problems[customer] = problem_line(result)
                context.log.warning(_log_line(result))
        yield from deferred or ()
        if in_step:
            context.log.info(_summary_line(in_step))


def _evaluate(
    evaluation: dg.AssetCheckEvaluation, deferred: list[dg.AssetCheckEvaluation] | None
) -> Iterator[dg.AssetCheckEvaluation]:
    """The evaluation now, or kept in `deferred` for after the loop."""
    if deferred is None:
        yield evaluation
    else:
        deferred.append(evaluation)


def board_check(
    customer: str, check_name: str, passed: bool, text: str, *, blocking: bool = True
) -> dg.AssetCheckEvaluation:
    """A board check of one customer decided without a sync result: its note (passed) or problem."""
    text = text[:1000]
    return dg.AssetCheckEvaluation(
        asset_key=MONDAY_BOARD_ITEMS,
        check_name=check_name,
        passed=passed,
        partition=customer,
        blocking=blocking,
        severity=dg.AssetCheckSeverity.ERROR,
        description=text,
        metadata={"note" if passed else "problem": text},
    )


def in_step_check(customer: str, note: str) -> dg.AssetCheckEvaluation:
    """A customer whose board already shows its current slice: nothing failed, nothing to send."""
    return board_check(customer, NO_FAILED_RECORDS, True, note)


def whole_plan_refusals(
    store: OrderStore,
    sources: Mapping[str, LineSource | None],
    client: MondayClient | None,
    settings: MondaySettings,
    config: BoardConfig,
    target: Target | None,
) -> dict[str, str]:
    """Before anything is sent: the customers refused because the run as a whole would overflow a
    board (monday/capacity.py); `sources`: each customer's published slice (None: never published)."""
    published = {c: s for c, s in sources.items() if s is not None}
    if not published:
        return {}
    loads = plan_capacity(store.engine, published, client, effective_config(config, settings), target)
    return refusals(loads, dry_run=client is None)


def _check(result: SyncResult, clean: bool) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=MONDAY_BOARD_ITEMS,
        check_name=NO_FAILED_RECORDS,
        passed=clean,
        partition=result.customer,
        blocking=True,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if clean else problem_line(result),
        metadata={
            "failed_records": count(result.failed),
            "skipped_records": count(result.skipped),
            "status": result.status,
            "first_failures": dg.MetadataValue.json(first_failures(result, 10)),
        },
    )


def _summary_line(results: list[SyncResult]) -> str:
    """One line for the customers synced cleanly (each one's counts are on its materialisation)."""
    names = ("created", "updated", "unchanged", "archived")
    counts = ", ".join(f"{name} {sum(getattr(r, name) for r in results)}" for name in names)
    statuses = ", ".join(sorted({r.status for r in results}))
    requests = sum(r.requests for r in results)
    complexity = sum(r.complexity_spent for r in results)
    return (
        f"monday.com {statuses}: {len(results)} customer(s) synced; {counts}; {requests} requests, "
        f"{complexity} complexity, {sum(r.seconds for r in results):.2f}s"
    )


def _log_line(result: SyncResult) -> str:
    names = ("created", "updated", "unchanged", "archived", "failed")
    counts = ", ".join(f"{name} {getattr(result, name)}" for name in names)
    return (
        f"{result.customer}: monday.com {result.status}; {counts}; {result.requests} requests, "
        f"{result.complexity_spent} complexity, {result.seconds:.2f}s"
        + (f"; {result.message}" if result.message else "")
    )
