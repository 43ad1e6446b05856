"""Entry point: sync one customer's ORDER_LIST slice to the monday.com board.

    result = sync_customer(engine, "GREYSON", lines_df, client)   # client=None -> dry run

Steps: build payloads (format errors become failed records, never sent) -> load state -> resolve
lines left `creating` by an interrupted run (lookup by external id) -> plan -> (dry run: store the
plan and stop) -> discover board, ensure groups -> execute in aliased batches -> record run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from order_platform.monday import state as st
from order_platform.monday.board import (
    discover_board,
    ensure_groups,
    find_items_by_external_id,
    find_subitems,
)
from order_platform.monday.client import MondayClient, MondayError
from order_platform.monday.executor import ExecutionReport, Executor
from order_platform.monday.mapping import BoardConfig, load_board_config
from order_platform.monday.payloads import (
    LineFailure,
    LinePayload,
    build_payloads,
    gc_paused,
    subitem_name,
)
from order_platform.monday.planner import Plan, plan_lines
from order_platform.monday.settings import MondaySettings

log = logging.getLogger(__name__)

MAX_FAILURES_IN_RESULT = 100
_ACTION_COUNTER = {"create": "created", "update": "updated", "archive": "archived"}


class MondaySyncFailed(RuntimeError):
    """Raised by SyncResult.raise_for_status when a run did not complete."""


@dataclass
class SyncResult:
    """What a run did. Counts are per order line; in a dry run created/updated/archived are planned."""

    run_id: int
    customer: str
    board_id: str
    dry_run: bool
    status: str  # success | partial | failed | dry_run
    lines: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    failed: int = 0
    skipped: int = 0  # planned but not attempted (run aborted)
    requests: int = 0
    mutations: int = 0
    complexity_spent: int = 0
    rate_limited: int = 0
    duplicates_found: int = 0
    seconds: float = 0.0
    message: str = ""
    sample_payloads: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)  # first MAX_FAILURES_IN_RESULT
    plan: list[dict[str, Any]] = field(default_factory=list)  # dry run only: the stored plan

    @property
    def ok(self) -> bool:
        return self.status in ("success", "dry_run")

    @property
    def requests_per_line(self) -> float:
        return self.requests / self.lines if self.lines else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def raise_for_status(self) -> SyncResult:
        if self.status == "failed":
            raise MondaySyncFailed(f"monday sync of {self.customer} failed: {self.message}")
        return self


def sync_customer(
    engine: sa.Engine,
    customer: str,
    lines: pd.DataFrame,
    client: MondayClient | None,
    settings: MondaySettings | None = None,
    *,
    config: BoardConfig | None = None,
) -> SyncResult:
    """Sync `lines` (one customer's ORDER_LIST rows, with record_uuid) to the board; client None = dry run."""
    started = time.monotonic()
    config = config or load_board_config()
    settings = settings or MondaySettings()
    board_id = settings.board_id or config.board.id
    st.create_tables(engine)
    dry_run = client is None
    with engine.begin() as conn:
        run_id = st.start_run(conn, board_id, customer, dry_run)
    result = SyncResult(run_id, customer, board_id, dry_run, "running", lines=len(lines))
    stats_before = _client_counters(client)
    payloads, format_failures = build_payloads(lines, customer, config)
    report = ExecutionReport()
    plan = Plan([])
    try:
        with engine.connect() as conn:
            state = st.load_state(conn, board_id, customer, also_ids=payloads)
        if client is not None:
            result.duplicates_found += resolve_pending(engine, client, config, board_id, state)
        with gc_paused():  # CPU work over many small objects (see payloads.gc_paused)
            plan = plan_lines(
                payloads,
                state,
                format_failures,
                customer=customer,
                archive_guard_fraction=config.sync.archive_guard_fraction,
            )
        with engine.begin() as conn:
            st.record_failures(
                conn, board_id, customer, run_id, [_failure_row(f) for f in format_failures.values()]
            )
        if client is None:
            with gc_paused():
                result.plan = _plan_rows(plan, payloads)
            with gc_paused(), engine.begin() as conn:
                st.save_plan(
                    conn,
                    run_id,
                    customer,
                    [
                        (p["record_uuid"], p["action"], _plan_json(p, payloads.get(p["record_uuid"])))
                        for p in result.plan
                        if p["action"] != "unchanged"
                    ],
                )
            result.sample_payloads = [p for p in result.plan if p["action"] != "unchanged"][
                : config.sync.payload_sample_size
            ]
        elif plan.ops:
            info = discover_board(client, config, board_id)
            titles = sorted(
                {
                    payloads[op.record_uuid].group_title
                    for op in plan.ops
                    if op.kind in ("create_item", "move_item")
                }
            )
            ensure_groups(client, info, titles, config.sync.batching.mutations_per_request)
            with engine.begin() as conn:
                st.save_groups(conn, board_id, {t: info.groups[t] for t in titles})
            executor = Executor(
                engine=engine,
                client=client,
                config=config,
                info=info,
                run_id=run_id,
                customer=customer,
                payloads=payloads,
                state=state,
            )
            report = executor.run(plan)
            result.duplicates_found += report.duplicates_found
            if report.aborted:
                result.message = f"aborted: {report.aborted}"
    except MondayError as exc:
        log.error("monday sync of %s failed: %s (%s)", customer, exc.message, exc.code)
        result.message = f"{exc.code}: {exc.message}"
        result.status = "failed"
    except BaseException as exc:  # a bug or an interrupt: record the run as failed, then re-raise
        _finish(
            engine,
            result,
            plan,
            report,
            format_failures,
            client,
            stats_before,
            started,
            status="failed",
            message=f"{type(exc).__name__}: {exc}",
        )
        raise
    _finish(engine, result, plan, report, format_failures, client, stats_before, started)
    return result


def _finish(
    engine: sa.Engine,
    result: SyncResult,
    plan: Plan,
    report: ExecutionReport,
    format_failures: dict[str, LineFailure],
    client: MondayClient | None,
    stats_before: dict[str, int],
    started: float,
    *,
    status: str | None = None,
    message: str | None = None,
) -> None:
    succeeded: list[str] = []
    for line in plan.lines:
        uuid = line.record_uuid
        if line.action == "failed":
            result.failed += 1
        elif line.action == "unchanged":
            result.unchanged += 1
            succeeded.append(uuid)
        elif uuid in report.failures:
            result.failed += 1
        elif result.dry_run or uuid in report.finished:
            key = _ACTION_COUNTER[line.action]
            setattr(result, key, getattr(result, key) + 1)
            succeeded.append(uuid)
        else:
            result.skipped += 1
    failures = [_failure_row(f) for f in format_failures.values()] + list(report.failures.values())
    result.failures = failures[:MAX_FAILURES_IN_RESULT]
    if not result.dry_run:
        result.sample_payloads = report.samples
    counters = _client_counters(client)
    for key in ("requests", "mutations", "complexity_spent", "rate_limited"):
        setattr(result, key, counters[key] - stats_before[key])
    result.seconds = round(time.monotonic() - started, 3)
    if plan.archive_guard_tripped:
        result.message = (result.message + "; " if result.message else "") + (
            "archive guard tripped: too many lines missing from ORDER_LIST, nothing archived"
        )
    if message:
        result.message = message
    if status:
        result.status = status
    elif result.status != "failed":
        if result.dry_run:
            result.status = "dry_run"
        elif report.aborted:
            result.status = "failed"
        elif result.failed or result.skipped or plan.archive_guard_tripped:
            result.status = "partial"
        else:
            result.status = "success"
    with engine.begin() as conn:
        if succeeded and not result.dry_run:
            st.clear_failures(conn, result.board_id, succeeded)
        st.finish_run(
            conn,
            result.run_id,
            status=result.status,
            lines=result.lines,
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            archived=result.archived,
            failed=result.failed,
            skipped=result.skipped,
            requests=result.requests,
            mutations=result.mutations,
            complexity_spent=result.complexity_spent,
            seconds=result.seconds,
            message=result.message or None,
        )


def resolve_pending(
    engine: sa.Engine,
    client: MondayClient,
    config: BoardConfig,
    board_id: str,
    state: dict[str, st.LineState],
) -> int:
    """Settle creates an interrupted run left `creating`: adopt what landed, forget what did not.

    Adopted items get item_hash None (and adopted subitems quantity None) so the planner re-sends
    their values. Returns how many duplicate items were seen for one external id.
    """
    duplicates = 0
    pending = [s for s in state.values() if s.status == "creating"]
    gone_lines: list[str] = []
    if pending:
        found = find_items_by_external_id(client, config, board_id, [s.record_uuid for s in pending])
        for line in pending:
            items = found.get(line.record_uuid)
            if not items:
                gone_lines.append(line.record_uuid)
                state.pop(line.record_uuid)
                continue
            duplicates += len(items) - 1
            line.item_id, line.status, line.item_hash = items[0].item_id, "active", None
            if items[0].group_id != line.group_id:
                line.group_id, line.group_title = items[0].group_id, None
    sub_pending = [
        (line, sub)
        for line in state.values()
        if line.item_id
        for sub in line.subitems.values()
        if sub.status == "creating"
    ]
    gone_subs: list[tuple[str, str]] = []
    if sub_pending:
        children = find_subitems(client, config, sorted({line.item_id or "" for line, _ in sub_pending}))
        for line, sub in sub_pending:
            sub_id = children.get(line.item_id or "", {}).get(subitem_name(config, sub.size))
            if sub_id:
                sub.subitem_id, sub.quantity, sub.status = sub_id, None, "active"
            else:
                line.subitems.pop(sub.size)
                gone_subs.append((line.record_uuid, sub.size))
    if pending or sub_pending:
        with engine.begin() as conn:
            st.delete_lines(conn, board_id, gone_lines)
            st.delete_subitems(conn, board_id, gone_subs)
            st.save_lines(conn, board_id, [s for s in pending if s.record_uuid in state], None)
            st.save_subitems(
                conn,
                board_id,
                [(line.record_uuid, sub) for line, sub in sub_pending if sub.status == "active"],
            )
    return duplicates


def _client_counters(client: MondayClient | None) -> dict[str, int]:
    if client is None:
        return {"requests": 0, "mutations": 0, "complexity_spent": 0, "rate_limited": 0}
    s = client.stats
    return {
        "requests": s.requests,
        "mutations": s.mutations,
        "complexity_spent": s.complexity_spent,
        "rate_limited": s.rate_limited,
    }


def _failure_row(failure: LineFailure) -> dict[str, Any]:
    return {
        "record_uuid": failure.record_uuid,
        "operation": failure.operation,
        "code": failure.code,
        "message": failure.message,
        "payload": failure.payload,
    }


_PLAN_HEADS: dict[Any, str] = {}


def _plan_json(row: dict[str, Any], payload: LinePayload | None) -> st.EncodedJson:
    """st.to_json(row), with the payload's column values (the bulk of a row) spliced in pre-encoded."""
    if payload is None or "column_values" not in row:
        return st.EncodedJson(st.to_json(row))
    head = _PLAN_HEADS.get(row["action"])
    if head is None:
        head = _PLAN_HEADS[row["action"]] = st.to_json({"action": row["action"]})[:-1] + ', "column_values": '
    rest = st.to_json({**row, "column_values": None})
    if not rest.startswith(head + "null"):  # keys sort as action, column_values, group_title, ...
        return st.EncodedJson(st.to_json(row))
    return st.EncodedJson(head + payload.create_values_json() + rest[len(head) + len("null") :])


def _plan_rows(plan: Plan, payloads: dict[str, LinePayload]) -> list[dict[str, Any]]:
    rows = []
    for line in plan.lines:
        row: dict[str, Any] = {
            "record_uuid": line.record_uuid,
            "action": line.action,
            "reason": line.reason,
            "ops": [{"op": op.kind, "size": op.size, "quantity": op.quantity} for op in line.ops],
        }
        payload = payloads.get(line.record_uuid)
        if payload is not None and line.action in ("create", "update"):
            row.update(
                item_name=payload.item_name,
                group_title=payload.group_title,
                column_values=payload.create_values(),
                sizes=payload.sizes,
            )
        rows.append(row)
    return rows
