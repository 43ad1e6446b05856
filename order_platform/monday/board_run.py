"""One customer's sync on one board (a MONDAY_SYNC_RUN row): the steps sync.py describes."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

import pandas as pd
import sqlalchemy as sa

from order_platform.monday.api.client import (
    MondayClient,
    MondayError,
    MondayFatalError,
    MondayTransientError,
)
from order_platform.monday.apply.board import BoardInfo, discover_board, ensure_groups, read_items_count
from order_platform.monday.apply.executor import MutationExecutor
from order_platform.monday.apply.pending import audit_board, resolve_pending
from order_platform.monday.apply.recovery import ExecutionReport
from order_platform.monday.capacity import line_counts, to_archive
from order_platform.monday.mapping import BoardConfig, BoardIds
from order_platform.monday.plan.lines import Chunk, LineSource, Target, as_source, needed_columns
from order_platform.monday.plan.payloads import LineFailure, LinePayload, Payloads, build_payloads
from order_platform.monday.plan.plan_rows import plan_json, plan_row
from order_platform.monday.plan.planner import LinePlan, Op, Plan, plan_lines
from order_platform.monday.plan.prepared import PreparedSource
from order_platform.monday.result import (
    MAX_FAILURES_IN_RESULT,
    MAX_ISSUES_IN_RESULT,
    MAX_PLAN_ROWS_IN_RESULT,
    SyncResult,
)
from order_platform.monday.state import records
from order_platform.monday.state import sync_state as st
from order_platform.workers.collector import paused

log = logging.getLogger(__name__)

# Real limits (the daily call limit, the complexity budget still exhausted after every wait): the run stops.
LIMIT_CODES = frozenset({"DAILY_LIMIT_EXCEEDED", "RATE_LIMITED"})

_ACTION_COUNTER = {"create": "created", "update": "updated", "archive": "archived"}


class BoardRun:
    """One customer on one board: a MONDAY_SYNC_RUN row."""

    def __init__(
        self,
        engine: sa.Engine,
        customer: str,
        lines: pd.DataFrame | LineSource,
        client: MondayClient | None,
        config: BoardConfig,
        index: int,
        target: Target | None,
        audit: bool,
        counts: dict[str, int],
    ) -> None:
        self.engine, self.customer, self.source, self.client = engine, customer, as_source(lines), client
        self.config, self.index, self.target, self.audit, self.counts = config, index, target, audit, counts
        self.board: BoardIds = config.boards[index]
        self.dry_run = client is None
        self.info: BoardInfo | None = None
        self.seen: set[str] = set()
        self.creates = 0
        self.ambiguous = False
        self.succeeded: list[str] = []
        self.has_state: bool | None = None  # whether MONDAY_LINE holds any line of this board (dry runs)

    def run(self) -> SyncResult:
        started = time.monotonic()
        board_id = self.board.id
        with self.engine.begin() as conn:
            run_id = records.start_run(conn, board_id, self.customer, self.dry_run)
            if self.target is None:  # a full sync's cell issues replace the customer's previous ones
                records.replace_cell_issues(conn, board_id, self.customer, run_id, [], record_uuids=None)
        self.result = result = SyncResult(run_id, self.customer, board_id, self.dry_run, "running")
        result.target = self.target.describe() if self.target else ""
        before = _counters(self.client)
        try:
            self._run()
        except MondayError as exc:
            log.error("monday sync of %s failed: %s (%s)", self.customer, exc.message, exc.code)
            result.status, result.message = "failed", f"{exc.code}: {exc.message}"
            if isinstance(exc, MondayFatalError) and exc.code in LIMIT_CODES:
                result.message += ": stopped at monday.com's limit; the next run resumes where this one stopped"
            elif isinstance(exc, MondayTransientError):
                result.message += ": monday.com is not answering; the next run resumes where this one stopped"
        except BaseException as exc:  # a bug or an interrupt: record the run as failed, then re-raise
            self._finish(before, started, "failed", f"{type(exc).__name__}: {exc}")
            raise
        self._finish(before, started)
        return result

    # ---- the steps ---------------------------------------------------------------------------------

    def _run(self) -> None:
        client, board_id = self.client, self.board.id
        if client is not None:
            duplicates = resolve_pending(self.engine, client, self.config, board_id, self.customer)
            if duplicates:
                self._execute(Plan([]), {}, {}, extra=duplicates)
            creates = self._count_creates()
            if creates:
                info = self._board_info()
                info.items_count = read_items_count(client, board_id)
                if self._refused(creates, info):
                    return
        if self.index == 0:
            self.counts["total"] += self.source.total()
        for chunk, built in self._chunks():
            self.counts["taken"] += len(chunk)
            self._chunk(chunk, built)
            if self.result.status == "failed":
                return
        if self.target is None:
            self._archive_gone()
        if client is not None and (self.audit or self.ambiguous or self.result.duplicates_found):
            duplicates = audit_board(self.engine, client, self.config, board_id, self.customer)
            if duplicates:
                self._execute(Plan([]), {}, {}, extra=duplicates)
        if self.dry_run and self.creates:
            self._refused(self.creates, None)

    def _chunks(self) -> Iterable[tuple[Chunk, Payloads | None]]:
        """The board's lines in chunks, with their payloads when a preparation built them already."""
        if isinstance(self.source, PreparedSource):
            prepared = self.source.take(self.config, self.index, self.customer, self.target)
            if prepared is not None:
                return prepared
        chunks = self.source.chunks(self.config, self.index, self.customer, self.target, needed_columns(self.config))
        return ((chunk, None) for chunk in chunks)

    def _board_info(self) -> BoardInfo:
        """The board's columns, groups and item count, read once (only when something is to be sent)."""
        if self.info is None:
            assert self.client is not None
            self.info = discover_board(self.client, self.config, self.board.id)
        return self.info

    def _count_creates(self) -> int:
        """Lines in scope that are not on the board yet (read before anything is sent)."""
        return line_counts(self.engine, self.source, self.config, self.index, self.customer, self.target)[1]

    def _refused(self, creates: int, info: BoardInfo | None) -> bool:
        """Refuse (nothing is sent) when the board would hold more items than its limit."""
        if info is not None and info.items_count is not None:
            holds, source = info.items_count, "the board says"
        else:
            with self.engine.connect() as conn:
                holds, source = st.count_items(conn, self.board.id), "as far as the sync state knows"
        if holds + creates <= self.board.item_limit:
            return False
        self.result.status = "refused"
        self.result.message = (
            f"refused: board {self.board.id} holds {holds} items ({source}) and the plan creates {creates} "
            f"more, over its limit of {self.board.item_limit}; "
            + ("a live run would send nothing" if self.dry_run else "nothing was sent")
            + f". Narrow the board's scope "
            f"({self.board.scope.describe()}) or add a board (monday_board.json `extra_boards`)"
        )
        log.error("monday sync of %s: %s", self.customer, self.result.message)
        return True

    def _chunk(self, frame: Any, built: Payloads | None = None) -> None:
        if not len(frame):
            return
        if built is None:
            built = build_payloads(frame, self.customer, self.config)
        self.seen.update(built.lines)
        self.seen.update(built.failures)
        state: dict[str, st.LineState] = {}
        if not self.dry_run or self._board_has_state():  # a dry run never adds state: empty stays empty
            with self.engine.connect() as conn:
                state = st.load_state(conn, self.board.id, built.lines)
        with paused():
            plan = plan_lines(built.lines, state, built.failures)
        self.result.lines += len(plan.lines)
        issues = [i.as_dict() for i in built.issues]
        self.result.cell_issues += len(issues)
        room = MAX_ISSUES_IN_RESULT - len(self.result.cell_issue_sample)
        self.result.cell_issue_sample += issues[: max(room, 0)]
        failures = [_failure_row(f) for f in built.failures.values()]
        stored = self._plan_payloads(plan, built.lines) if self.dry_run else []
        with self.engine.begin() as conn:  # one transaction per chunk: issues, failures, the dry run's plan
            board, run_id = self.board.id, self.result.run_id
            targeted = list(built.lines) if self.target else []
            records.replace_cell_issues(conn, board, self.customer, run_id, issues, record_uuids=targeted)
            records.record_failures(conn, board, self.customer, run_id, failures)
            records.save_plan(conn, run_id, self.customer, stored)
        self.result.failures += failures
        self.creates += sum(1 for line in plan.lines if line.action == "create")
        self.result.planned_operations += sum(len(line.ops) for line in plan.lines)
        if self.dry_run:
            self._sample_plan(plan, built.lines)
            self._tally(plan, ExecutionReport())
        elif plan.ops:
            self._execute(plan, built.lines, state)
        else:
            self._tally(plan, ExecutionReport())

    def _board_has_state(self) -> bool:
        if self.has_state is None:
            with self.engine.connect() as conn:
                self.has_state = st.count_items(conn, self.board.id) > 0
        return self.has_state

    def _archive_gone(self) -> None:
        with self.engine.connect() as conn:
            active = st.line_ids(conn, self.board.id, self.customer, ("active",))
        gone, missing = to_archive(active - self.seen, active, self.source, self.config, self.customer)
        if not gone and missing:
            self.result.message = _join(
                self.result.message,
                f"archive guard tripped: {missing} of {len(active)} lines gone from the ORDER_LIST slice, "
                "nothing archived",
            )
            self.result.status = "partial" if not self.dry_run else self.result.status
            return
        if not gone:
            return
        with self.engine.connect() as conn:
            state = st.load_state(conn, self.board.id, gone)
        plan = Plan([LinePlan(u, "archive", [Op("archive_item", u)], "gone from scope") for u in sorted(gone)])
        self.result.planned_operations += len(gone)
        if self.dry_run:
            self._tally(plan, ExecutionReport())
        else:
            self._execute(plan, {}, state)

    def _execute(
        self,
        plan: Plan,
        payloads: dict[str, LinePayload],
        state: dict[str, st.LineState],
        *,
        extra: list[Op] | None = None,
    ) -> None:
        assert self.client is not None
        info = self._board_info()
        titles = sorted(
            {payloads[op.record_uuid].group_title for op in plan.ops if op.kind in ("create_item", "move_item")}
        )
        if titles:
            ensure_groups(self.client, info, titles, self.config.sync.batching.mutations_per_request)
            with self.engine.begin() as conn:
                st.save_groups(conn, self.board.id, {t: info.groups[t] for t in titles})
        executor = MutationExecutor(
            engine=self.engine,
            client=self.client,
            config=self.config,
            info=info,
            run_id=self.result.run_id,
            customer=self.customer,
            payloads=payloads,
            state=state,
        )
        if extra:
            executor.remove_duplicates_ops(extra)
        report = executor.run(plan)
        self.ambiguous = self.ambiguous or executor.ambiguous_batches > 0
        if report.aborted:
            self.result.message = _join(self.result.message, f"aborted: {report.aborted}")
            self.result.status = "failed"
        if executor.board_full and "item limit" not in self.result.message:
            self.result.message = _join(
                self.result.message,
                f"board {self.board.id} reached its item limit (monday.com ItemsLimitationException): the "
                "remaining creates were not sent; the next run resumes once there is room",
            )
        self._tally(plan, report)

    # ---- bookkeeping -------------------------------------------------------------------------------

    def _tally(self, plan: Plan, report: ExecutionReport) -> None:
        result = self.result
        for line in plan.lines:
            uuid = line.record_uuid
            if line.action == "failed":
                result.failed += 1
            elif line.action == "unchanged":
                result.unchanged += 1
                self.succeeded.append(uuid)
            elif uuid in report.failures:
                result.failed += 1
            elif self.dry_run or uuid in report.finished:
                key = _ACTION_COUNTER[line.action]
                setattr(result, key, getattr(result, key) + 1)
                self.succeeded.append(uuid)
            else:
                result.skipped += 1
        result.failures += list(report.failures.values())
        result.duplicates_found += report.duplicates_found
        result.duplicates_removed += report.duplicates_removed
        if not self.dry_run:
            room = self.config.sync.payload_sample_size - len(result.sample_payloads)
            result.sample_payloads += report.samples[: max(room, 0)]

    def _plan_payloads(self, plan: Plan, payloads: dict[str, LinePayload]) -> list[tuple[str, str, str]]:
        """MONDAY_PLAN rows (record_uuid, action, payload JSON) of the lines that change."""
        with paused():
            return [
                (line.record_uuid, line.action, plan_json(line, payloads.get(line.record_uuid)))
                for line in plan.lines
                if line.action != "unchanged"
            ]

    def _sample_plan(self, plan: Plan, payloads: dict[str, LinePayload]) -> None:
        """The first plan rows, and the first changes as sample payloads, for the result."""
        room = MAX_PLAN_ROWS_IN_RESULT - len(self.result.plan)
        self.result.plan += [plan_row(line, payloads.get(line.record_uuid)) for line in plan.lines[: max(room, 0)]]
        room = self.config.sync.payload_sample_size - len(self.result.sample_payloads)
        for line in plan.lines:
            if room <= 0:
                break
            if line.action != "unchanged":
                self.result.sample_payloads.append(plan_row(line, payloads.get(line.record_uuid)))
                room -= 1

    def _finish(
        self, before: dict[str, int], started: float, status: str | None = None, message: str | None = None
    ) -> None:
        result = self.result
        result.failures = result.failures[:MAX_FAILURES_IN_RESULT]
        counters = _counters(self.client)
        for key in ("requests", "mutations", "complexity_spent", "rate_limited"):
            setattr(result, key, counters[key] - before[key])
        if self.client is not None:
            result.api_version = self.client.stats.answered_by or self.client.api_version
        result.seconds = round(time.monotonic() - started, 3)
        result.boards = [
            {
                "board_id": self.board.id,
                "scope": self.board.scope.describe(),
                "item_limit": self.board.item_limit,
                "items_count": self.info.items_count if self.info else None,
            }
        ]
        if message:
            result.message = message
        if status:
            result.status = status
        elif result.status not in ("failed", "refused"):
            if self.dry_run:
                result.status = "dry_run"
            elif result.failed or result.skipped or result.status == "partial":
                result.status = "partial"
            else:
                result.status = "success"
        result.boards[0]["status"] = result.status
        with self.engine.begin() as conn:
            if self.succeeded and not self.dry_run:
                records.clear_failures(conn, result.board_id, self.succeeded)
            records.finish_run(
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


def _join(message: str, more: str) -> str:
    return f"{message}; {more}" if message else more


def _counters(client: MondayClient | None) -> dict[str, int]:
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
