"""Reconcile the board(s) with ORDER_LIST: read back, compare, repair, record.

    result = reconcile_boards(store, ["GREYSON"], client, settings, config=config, run="cli:123")

Per board in the mapping: every active item is read once (read.py). Per customer (those named, else
every published one): the payloads ORDER_LIST asks for are built as the sync builds them
(plan/payloads.py) and compared with the items (compare.py). A live run then
1. rewrites the sync state to what the board really holds (one transaction per customer),
2. archives the second items of a line and the items of lines no longer in ORDER_LIST or the board's
   scope, and deletes subitems added by hand (by id, batched),
3. runs the customer's normal sync, which now sends exactly the repairs (and any ORDER_LIST change
   not sent yet), with its pacing, recovery and item-limit check,
4. records every finding in MONDAY_DRIFT (a repair that failed is recorded as `reported`).
Items without the platform's external id belong to people: reported (once, until they change),
never written. A dry run reads and compares only: nothing is sent or stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from order_platform.monday.api.client import MondayClient
from order_platform.monday.api.settings import MondaySettings
from order_platform.monday.apply.board import discover_board
from order_platform.monday.mapping import BoardConfig, load_board_config
from order_platform.monday.plan.lines import LineSource, needed_columns, store_source
from order_platform.monday.plan.payloads import LinePayload, build_payloads
from order_platform.monday.reconcile.by_id import apply_by_id
from order_platform.monday.reconcile.compare import Comparer, Comparison
from order_platform.monday.reconcile.drift import Finding, create_drift_table, known_reports, record_findings
from order_platform.monday.reconcile.read import BoardRead, item_states, read_board
from order_platform.monday.reconcile.result import CustomerReconcile, ReconcileResult
from order_platform.monday.state import sync_state as st
from order_platform.monday.sync import sync_customer

log = logging.getLogger(__name__)


class ReconcileError(RuntimeError):
    """A reconcile that cannot start (a customer never published)."""


def reconcile_boards(
    store: Any,
    customers: list[str] | None,
    client: MondayClient,
    settings: MondaySettings | None = None,
    *,
    config: BoardConfig | None = None,
    run: str,
    dry_run: bool = False,
) -> ReconcileResult:
    """Reconcile `customers` (None: every published one) on every board of the mapping."""
    names = _customers(store, customers)
    return reconcile_sources(
        store.engine,
        lambda customer: store_source(store, customer),
        names,
        client,
        settings,
        config=config,
        run=run,
        dry_run=dry_run,
        every=customers is None,
    )


def reconcile_sources(
    engine: sa.Engine,
    sources: Callable[[str], LineSource | None],
    names: list[str],
    client: MondayClient,
    settings: MondaySettings | None = None,
    *,
    config: BoardConfig | None = None,
    run: str,
    dry_run: bool = False,
    every: bool = False,
) -> ReconcileResult:
    """reconcile_boards on any line sources (`sources(customer)`: its ORDER_LIST lines; the bench passes
    frames). `every`: the customers are all there are, so items no customer owns are archived too."""
    started = time.monotonic()
    settings = settings or MondaySettings()
    config = config or load_board_config()
    if settings.board_id:
        config = config.with_boards(config.board.model_copy(update={"id": settings.board_id}), *config.extra_boards)
    st.create_tables(engine)
    create_drift_table(engine)
    before = (client.stats.requests, client.stats.mutations, client.stats.complexity_spent)
    result = ReconcileResult(run, dry_run)
    ext = config.external_id.monday_column_id
    reads: list[tuple[int, BoardRead, dict[str, str]]] = []
    for index, board in enumerate(config.boards):
        info = discover_board(client, _read_only(config) if dry_run else config, board.id)
        read = read_board(client, config, board.id, page_limit=config.sync.batching.lookup_page_limit)
        reads.append((index, read, dict(info.groups)))
        people = [
            Finding(board.id, item.id, None, None, None, item.name, None, "reported")
            for item in read.without_external_id(ext)
        ]
        result.people += people
        result.boards.append(
            {
                "board_id": board.id,
                "items_read": len(read.items),
                "pages": read.pages,
                "people_items": len(people),
                "unmapped_columns": sorted(set(info.columns) - _mapped(config) - {"name", "subitems"}),
            }
        )
    claimed: dict[str, set[str]] = {read.board_id: set() for _, read, _ in reads}
    for customer in names:
        outcome = CustomerReconcile(customer)
        result.customers[customer] = outcome
        comparisons: list[tuple[str, Comparison]] = []
        for index, read, groups in reads:
            payloads = _payloads(sources(customer), customer, config, index)
            claimed[read.board_id].update(payloads)
            comparison = _compare(engine, client, config, read, groups, customer, payloads)
            comparisons.append((read.board_id, comparison))
            outcome.findings += comparison.findings
            outcome.pending += comparison.pending
            outcome.checked_items += comparison.checked_items
        if not dry_run:
            _repair(engine, sources(customer), client, settings, config, outcome, comparisons)
        _settle(outcome, dry_run)
    if every:  # a line id no customer's slice has and the state never knew: not provably ours, reported only
        for _, read, _ in reads:
            result.people += _orphans(engine, read, ext, claimed[read.board_id])
    if not dry_run:
        _record(engine, result)
    result.requests = client.stats.requests - before[0]
    result.mutations = client.stats.mutations - before[1]
    result.complexity_spent = client.stats.complexity_spent - before[2]
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _customers(store: Any, customers: list[str] | None) -> list[str]:
    if customers is None:
        # every customer with a published slice (a failed latest load keeps its slice), except those whose
        # workbook is gone or who were retired: their items stay as they are until someone decides
        loads = store.latest_loads()
        return sorted(
            c
            for c, row in loads.items()
            if row.get("status") not in ("retired", "source_removed") and store.last_load(c, "published") is not None
        )
    missing = [c for c in customers if store.last_load(c, "published") is None]
    if missing:
        raise ReconcileError(f"no published ORDER_LIST slice for {', '.join(missing)}; run `order-platform refresh`")
    return list(dict.fromkeys(customers))


def _read_only(config: BoardConfig) -> BoardConfig:
    """The mapping for a dry run: a missing external-id column is reported, not created."""
    ext = config.sync.external_id_column.model_copy(update={"create_if_missing": False})
    return config.with_knobs(external_id_column=ext)


def _mapped(config: BoardConfig) -> set[str]:
    return {c.monday_column_id for c in config.item_columns} | {config.external_id.monday_column_id}


def _batch(config: BoardConfig) -> int:
    return config.sync.batching.mutations_per_request


def _payloads(source: LineSource | None, customer: str, config: BoardConfig, index: int) -> dict[str, LinePayload]:
    payloads: dict[str, LinePayload] = {}
    if source is None:
        return payloads
    for chunk in source.chunks(config, index, customer, None, needed_columns(config)):
        if len(chunk):
            payloads.update(build_payloads(chunk, customer, config).lines)
    return payloads


def _compare(
    engine: sa.Engine,
    client: MondayClient,
    config: BoardConfig,
    read: BoardRead,
    groups: dict[str, str],
    customer: str,
    payloads: dict[str, LinePayload],
) -> Comparison:
    board_id = read.board_id
    with engine.connect() as conn:
        state = st.load_lines_where(conn, board_id, st.line_table.c.customer == customer)
        state.update(st.load_state(conn, board_id, [u for u in payloads if u not in state]))
    by_ext = read.by_external_id(config.external_id.monday_column_id)
    on_board = {item.id for item in read.items}
    missing = sorted(
        {
            s.item_id
            for u, s in state.items()
            if u in payloads and s.status == "active" and s.item_id and s.item_id not in on_board
        }
    )
    states = item_states(client, missing) if missing else {}
    comparer = Comparer(config, board_id, customer, groups, states)
    for uuid, payload in payloads.items():
        comparer.line(payload, state.get(uuid), by_ext.get(uuid, []))
    stale = {u: items for u, items in by_ext.items() if u not in payloads and u in state}
    for uuid, items in stale.items():
        comparer.stale(uuid, state.get(uuid), items)
    out = comparer.out
    _guard(config, out, len(stale), out.checked_items + len(stale))
    return out


def _guard(config: BoardConfig, out: Comparison, stale: int, total: int) -> None:
    """The sync's archive guard: never archive more than that share of a customer's items at once."""
    if not stale or stale / max(total, 1) <= config.sync.archive_guard_fraction:
        return
    stale_ids = {item_id for item_id, _ in out.archive}
    out.archive = []
    for finding in out.findings:
        if finding.action == "archived" and finding.target_id in stale_ids:
            finding.action = "reported"
            finding.expected_value = "archive guard: too many of the customer's items at once, not archived"
    out.lines = {u: s for u, s in out.lines.items() if s.status != "archived" or s.item_id not in stale_ids}


def _repair(
    engine: sa.Engine,
    source: LineSource | None,
    client: MondayClient,
    settings: MondaySettings,
    config: BoardConfig,
    outcome: CustomerReconcile,
    comparisons: list[tuple[str, Comparison]],
) -> None:
    failed: dict[str, str] = {}
    for board_id, comparison in comparisons:
        with engine.begin() as conn:
            st.delete_subitems(conn, board_id, comparison.gone_subitems)
            st.save_lines(conn, board_id, list(comparison.lines.values()), None)
            subitems = [(u, sub) for u, line in comparison.lines.items() for sub in line.subitems.values()]
            st.save_subitems(conn, board_id, subitems)
        failed.update(apply_by_id(client, "archive_item", [i for i, _ in comparison.archive], _batch(config)))
        failed.update(apply_by_id(client, "delete_item", [i for i, _ in comparison.delete_subitems], _batch(config)))
    sync = sync_customer(engine, outcome.customer, source, client, settings, config=config) if source else None
    outcome.sync = sync
    uuids = sorted({f.record_uuid for f in outcome.findings if f.record_uuid})
    with engine.connect() as conn:
        still_failing = _failing(conn, outcome.customer, uuids)
    sync_done = sync is not None and sync.status in ("success", "partial")
    for finding in outcome.findings:
        if finding.action == "reported":
            continue
        if finding.target_id is not None:
            finding.repaired = finding.target_id not in failed
        else:
            finding.repaired = sync_done and finding.record_uuid not in still_failing
    if sync is not None and not (sync.ok and sync.failed == 0 and sync.skipped == 0):
        outcome.message = f"sync {sync.status}: {sync.message}" if sync.message else f"sync {sync.status}"
    if failed:
        first = next(iter(failed.items()))
        outcome.message = "; ".join(filter(None, [outcome.message, f"{len(failed)} archive/delete failed ({first})"]))


def _failing(conn: sa.Connection, customer: str, uuids: list[str]) -> set[str]:
    table = st.failure_table
    out: set[str] = set()
    for start in range(0, len(uuids), 500):
        chunk = uuids[start : start + 500]
        select = sa.select(table.c.record_uuid).where(table.c.customer == customer, table.c.record_uuid.in_(chunk))
        out.update(conn.execute(select).scalars())
    return out


def _settle(outcome: CustomerReconcile, dry_run: bool) -> None:
    needs_repair = [f for f in outcome.findings if f.action != "reported"]
    sync = outcome.sync
    if dry_run:
        outcome.status = "drift" if needs_repair or outcome.pending else "matches"
    elif sync is not None and sync.status in ("failed", "refused"):
        outcome.status = "failed"
    elif outcome.unrepaired or (sync is not None and (sync.failed or sync.skipped)):
        outcome.status = "drift"
    else:
        outcome.status = "repaired" if needs_repair else "matches"


def _orphans(engine: sa.Engine, read: BoardRead, ext: str, claimed: set[str]) -> list[Finding]:
    """Items carrying a line id no customer's slice has and the sync state never knew (typed by a person, or
    the state lost with the line gone): the platform cannot tell they are its own, so they are reported."""
    by_ext = read.by_external_id(ext)
    unknown = [u for u in by_ext if u not in claimed]
    if not unknown:
        return []
    with engine.connect() as conn:
        owned = set(st.load_state(conn, read.board_id, unknown))
    return [
        Finding(read.board_id, item.id, uuid, None, None, item.name, "no line of ORDER_LIST has this id", "reported")
        for uuid in unknown
        if uuid not in owned
        for item in by_ext[uuid]
    ]


def _record(engine: sa.Engine, result: ReconcileResult) -> None:
    """MONDAY_DRIFT rows of this run; a `reported` finding already recorded as it is now is not again."""
    boards = {b["board_id"] for b in result.boards}
    with engine.begin() as conn:
        known = set().union(*(known_reports(conn, b) for b in boards)) if boards else set()
        for outcome in result.customers.values():
            new = [f for f in outcome.findings if f.action != "reported" or f.key() not in known]
            outcome.recorded = record_findings(conn, new, result.run)
        people = [f for f in result.people if f.key() not in known]
        record_findings(conn, people, result.run)
