"""Send a plan's mutations: many aliased per request, state saved after every batch, exactly once.

Before a batch with creates goes out, the lines/subitems are stored as `creating`. After an
ambiguous failure (timeout, dropped connection, 5xx) the batch's creates are looked up — items by
their external-id column, subitems by name under their parent — and only the ones not found are
sent again; updates, moves, deletes and archives are idempotent and simply re-sent. An ambiguity
that repeats halves the batch (down to `min_mutations_per_request`); successes grow it back. The
executor stops only when nothing completes any more (`abort_after_consecutive_failures` ambiguous
batches in a row at the smallest batch), or on a real limit (a MondayFatalError: the daily or
complexity limit, authentication; a full board fails the remaining creates); the next run resumes.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

import sqlalchemy as sa

from order_platform.monday.api.client import (
    AmbiguousMutationError,
    MondayClient,
    MondayRequestError,
    MondayTransientError,
    error_code,
)
from order_platform.monday.apply.board import BoardInfo
from order_platform.monday.apply.mutations import RenderContext, document_variables, render
from order_platform.monday.apply.recovery import ExecutionReport, Recovery
from order_platform.monday.mapping import BoardConfig
from order_platform.monday.plan.payloads import LinePayload
from order_platform.monday.plan.planner import Op, Plan
from order_platform.monday.state import records
from order_platform.monday.state import sync_state as st

log = logging.getLogger(__name__)

FULL_BOARD = "ItemsLimitationException"

NOT_FOUND_CODES = frozenset({"InvalidItemIdException", "ResourceNotFoundException", "ItemNotFoundException"})


class MutationExecutor(Recovery):
    """Executes one board's plan for one customer (see the module docstring)."""

    def __init__(
        self,
        *,
        engine: sa.Engine,
        client: MondayClient,
        config: BoardConfig,
        info: BoardInfo,
        run_id: int,
        customer: str,
        payloads: dict[str, LinePayload],
        state: dict[str, st.LineState],
    ) -> None:
        self.engine = engine
        self.client = client
        self.config = config
        self.knobs = config.sync
        self.info = info
        self.run_id = run_id
        self.customer = customer
        self.payloads = payloads
        self.state = state
        self.render_context = RenderContext(config, info, payloads, state)
        self.batch_limit = self.knobs.batching.mutations_per_request
        self.queue: deque[Op] = deque()
        self.waiting: dict[str, list[Op]] = {}
        self.open_ops: dict[str, int] = {}
        self.report = ExecutionReport()
        self.ambiguous_batches = 0
        self.completed = 0  # operations done (applied, found applied, or failed for good): progress
        self.board_full = False
        self._dirty_lines: set[str] = set()
        self._dirty_subitems: set[tuple[str, str]] = set()
        self._gone_subitems: set[tuple[str, str]] = set()
        self._gone_lines: set[str] = set()
        self._new_failures: list[dict[str, Any]] = []

    # ---- driving -------------------------------------------------------------------------------

    def run(self, plan: Plan) -> ExecutionReport:
        for line in plan.lines:
            if not line.ops:
                continue
            self.open_ops[line.record_uuid] = len(line.ops)
            for op in line.ops:
                if op.kind == "create_subitem" and line.action == "create":
                    self.waiting.setdefault(op.record_uuid, []).append(op)
                else:
                    self.queue.append(op)
        in_a_row = 0  # ambiguous batches in a row (sets the backoff)
        stalled = 0  # ambiguous batches in a row with no operation completed in between
        done_before = self.completed
        while self.queue:
            batch = self._take_batch()
            if not batch:  # every op taken was a create refused before sending (full board)
                self._flush()
                continue
            try:
                self._send(batch)
                in_a_row = 0
                self.batch_limit = min(self.knobs.batching.mutations_per_request, self.batch_limit * 2)
            except AmbiguousMutationError as exc:
                in_a_row += 1
                self.ambiguous_batches += 1
                log.warning("ambiguous mutation batch (%d ops): %s", len(batch), exc)
                self.client.backoff(in_a_row)
                self._recover(batch)  # what was applied is adopted; the rest goes back to the queue
                stalled = stalled + 1 if self.completed == done_before else 1
                done_before = self.completed
                if in_a_row > 1 or exc.timed_out:  # repeated ambiguity (or a timeout): split the batch
                    self.batch_limit = max(self.knobs.batching.min_mutations_per_request, len(batch) // 2)
                if stalled > self.knobs.retry.abort_after_consecutive_failures and len(batch) <= self.batch_limit:
                    self.report.aborted = (
                        f"{stalled} ambiguous failures in a row with nothing applied in between, down to batches "
                        f"of {len(batch)} ({exc.message}): monday.com is not answering; the next run resumes"
                    )
                    break
            finally:
                self._flush()
        return self.report

    def _take_batch(self) -> list[Op]:
        """Up to batch_limit ops within the per-request complexity cap; when the window's budget is
        nearly spent, a smaller batch that still fits (rather than idling until the reset)."""
        pacer = self.client.pacer
        cap = self.knobs.batching.max_complexity_per_request
        available = pacer.available()
        if available is not None and available >= pacer.estimate("mutation", 1):
            cap = min(cap, available)
        batch: list[Op] = []
        while self.queue and len(batch) < self.batch_limit:
            if batch and pacer.estimate("mutation", len(batch) + 1) > cap:
                break
            op = self.queue.popleft()
            if self.board_full and op.kind == "create_item":
                self._op_failed(op, FULL_BOARD, "the board reached its item limit earlier in this run", {})
                continue
            batch.append(op)
        return batch

    def _requeue(self, ops: list[Op]) -> None:
        self.queue.extendleft(reversed(ops))

    # ---- one request ---------------------------------------------------------------------------

    def _send(self, batch: list[Op]) -> None:
        self._mark_creating(batch)
        self._flush()
        fields: list[str] = []
        definitions, variables = document_variables(batch, self.info)
        for i, op in enumerate(batch):
            text, defs, values = render(i, op, self.render_context)
            fields.append(text)
            definitions.extend(defs)
            variables.update(values)
            if len(self.report.samples) < self.knobs.payload_sample_size:
                self.report.samples.append(
                    {"op": op.kind, "record_uuid": op.record_uuid, "size": op.size, "variables": values}
                )
        document = f"mutation ({', '.join(definitions)}) {{ {' '.join(fields)} }}"
        try:
            response = self.client.mutate(document, variables, units=len(batch))
        except MondayRequestError as exc:
            if len(batch) == 1:
                self._op_failed(batch[0], exc.code, exc.message, variables)
                return
            half = len(batch) // 2  # one bad op rejects the whole request: bisect to isolate it
            self._send(batch[:half])
            self._send(batch[half:])
            return
        errors = response.errors_by_alias()
        for i, op in enumerate(batch):
            alias = f"m{i}"
            result = response.data.get(alias)
            if result and result.get("id"):
                self._op_succeeded(op, result)
            else:
                error = errors.get(alias, {"message": "no result for mutation", "extensions": {"code": "NO_RESULT"}})
                self._field_error(op, error, {k: v for k, v in variables.items() if k.endswith(str(i))})

    # ---- outcomes ------------------------------------------------------------------------------

    def _mark_creating(self, batch: list[Op]) -> None:
        for op in batch:
            if op.kind == "create_item":
                payload = self.payloads[op.record_uuid]
                if op.record_uuid in self.state and self.state[op.record_uuid].status != "creating":
                    self._gone_lines.add(op.record_uuid)  # an archived line's old item: start afresh
                self.state[op.record_uuid] = st.LineState(
                    op.record_uuid,
                    self.customer,
                    None,
                    self.info.groups[payload.group_title],
                    payload.group_title,
                    None,
                    "creating",
                )
                self._dirty_lines.add(op.record_uuid)
            elif op.kind == "create_subitem":
                assert op.size is not None
                self.state[op.record_uuid].subitems[op.size] = st.SubitemState(op.size, None, op.quantity, "creating")
                self._dirty_subitems.add((op.record_uuid, op.size))

    def _op_succeeded(self, op: Op, result: dict[str, Any]) -> None:
        uuid = op.record_uuid
        line = self.state.get(uuid)
        if op.kind == "create_item":
            assert line is not None
            payload = self.payloads[uuid]
            line.item_id, line.status, line.item_hash = str(result["id"]), "active", payload.digest()
            line.item_values = payload.applied_json()
            self._dirty_lines.add(uuid)
            self.queue.extend(self.waiting.pop(uuid, []))
        elif op.kind == "update_item":
            assert line is not None
            line.item_hash = self.payloads[uuid].digest()
            line.item_values = self.payloads[uuid].applied_json()
            self._dirty_lines.add(uuid)
        elif op.kind == "move_item":
            assert line is not None
            payload = self.payloads[uuid]
            line.group_title, line.group_id = payload.group_title, self.info.groups[payload.group_title]
            self._dirty_lines.add(uuid)
        elif op.kind == "archive_item":
            assert line is not None
            line.status = "archived"
            self._dirty_lines.add(uuid)
        elif op.kind in ("create_subitem", "update_subitem"):
            assert line is not None and op.size is not None
            sub = line.subitems[op.size]
            if op.kind == "create_subitem":
                sub.subitem_id = str(result["id"])
                board = (result.get("board") or {}).get("id")
                if board and not self.info.subitems_board_id:
                    self.info.subitems_board_id = str(board)
            sub.quantity, sub.status = op.quantity, "active"
            self._dirty_subitems.add((uuid, op.size))
        elif op.kind == "delete_subitem":
            assert line is not None and op.size is not None
            line.subitems.pop(op.size, None)
            self._gone_subitems.add((uuid, op.size))
        elif op.kind == "delete_duplicate":
            self.report.duplicates_removed += 1
        self._op_done(op)

    def _field_error(self, op: Op, error: dict[str, Any], variables: dict[str, Any]) -> None:
        code = error_code(error)
        message = str(error.get("message", ""))
        if code in NOT_FOUND_CODES:
            if op.kind in ("archive_item", "delete_subitem", "delete_duplicate"):  # already gone: goal reached
                self._op_succeeded(op, {"id": "gone"})
                return
            line = self.state.get(op.record_uuid)
            if op.kind == "update_subitem" and op.size and line:
                line.subitems.pop(op.size, None)
                self._gone_subitems.add((op.record_uuid, op.size))
            elif line is not None and op.kind != "create_item":
                # The item was deleted on the board: forget it so the next run creates it again.
                self.state.pop(op.record_uuid, None)
                self._gone_lines.add(op.record_uuid)
            code = "ITEM_MISSING"
        if code == FULL_BOARD and not self.board_full:  # the board is full: no other create can land
            self.board_full = True
            log.error("board %s is full (%s): the remaining creates are not sent", self.info.board_id, message)
        self._op_failed(op, code, message, variables)

    def _op_failed(self, op: Op, code: str, message: str, variables: dict[str, Any]) -> None:
        uuid = op.record_uuid
        line = self.state.get(uuid)
        if op.kind == "create_item" and line is not None and line.status == "creating":
            self.state.pop(uuid, None)
            self._gone_lines.add(uuid)
            dropped = self.waiting.pop(uuid, [])
            self.open_ops[uuid] = self.open_ops.get(uuid, 0) - len(dropped)
        elif (
            op.kind == "create_subitem"
            and line is not None
            and op.size in line.subitems
            and line.subitems[op.size].status == "creating"
        ):
            line.subitems.pop(op.size)
            self._gone_subitems.add((uuid, op.size or ""))
        failure = {
            "record_uuid": uuid,
            "operation": op.kind,
            "code": code,
            "message": message,
            "payload": {"size": op.size, "variables": variables},
        }
        self.report.failures.setdefault(uuid, failure)
        self._new_failures.append(failure)
        self._op_done(op)

    def _op_done(self, op: Op) -> None:
        self.completed += 1
        uuid = op.record_uuid
        self.open_ops[uuid] = self.open_ops.get(uuid, 1) - 1
        if self.open_ops[uuid] <= 0:
            self.report.finished.add(uuid)

    # ---- persistence ---------------------------------------------------------------------------

    def _flush(self) -> None:
        """Save every state change since the last flush in one transaction."""
        if not (
            self._dirty_lines or self._dirty_subitems or self._gone_lines or self._gone_subitems or self._new_failures
        ):
            return
        board = self.info.board_id
        with self.engine.begin() as conn:
            if self._gone_lines:
                st.delete_lines(conn, board, sorted(self._gone_lines))
                # Lines re-created in this batch come back through _dirty_lines below.
                for uuid in self._gone_lines & set(self.state):
                    self._dirty_subitems.update((uuid, size) for size in self.state[uuid].subitems)
            st.save_lines(conn, board, [self.state[u] for u in self._dirty_lines if u in self.state], self.run_id)
            st.delete_subitems(conn, board, sorted(self._gone_subitems - self._dirty_subitems))
            st.save_subitems(
                conn,
                board,
                [
                    (u, self.state[u].subitems[s])
                    for u, s in self._dirty_subitems
                    if u in self.state and s in self.state[u].subitems
                ],
            )
            records.record_failures(conn, board, self.customer, self.run_id, self._new_failures)
        self._dirty_lines.clear()
        self._dirty_subitems.clear()
        self._gone_lines.clear()
        self._gone_subitems.clear()
        self._new_failures.clear()


__all__ = ["ExecutionReport", "MondayTransientError", "MutationExecutor"]
