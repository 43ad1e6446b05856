"""What the executor does after an ambiguous batch (timeout, dropped connection, 5xx): find out
what was applied, adopt it, remove duplicates, and re-queue only what is still missing (the executor
splits the batch when the ambiguity repeats and stops only when nothing completes any more).

Items are looked up by their external-id column (every page, explicit limits), subitems by name
under their parent (`items(ids, limit)` with at most 100 ids). More than one item for a line, or
more than one subitem of a size, is a duplicate: the first (oldest) is kept, the others deleted.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from order_platform.monday.apply.board import find_items_by_external_id, find_subitems
from order_platform.monday.plan.payloads import subitem_name
from order_platform.monday.plan.planner import Op
from order_platform.monday.state import sync_state as st

if TYPE_CHECKING:
    from order_platform.monday.api.client import MondayClient
    from order_platform.monday.apply.board import BoardInfo
    from order_platform.monday.mapping import BoardConfig, SyncKnobs
    from order_platform.monday.plan.payloads import LinePayload

log = logging.getLogger(__name__)

CREATES = ("create_item", "create_subitem")


@dataclass
class ExecutionReport:
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)  # record_uuid -> failure
    finished: set[str] = field(default_factory=set)  # lines whose ops all ran (failed or not)
    samples: list[dict[str, Any]] = field(default_factory=list)
    duplicates_found: int = 0  # extra items or subitems found on the board (from any cause)
    duplicates_removed: int = 0
    aborted: str | None = None


class Recovery:
    """Mixin of MutationExecutor: the attributes below are the executor's."""

    client: MondayClient
    config: BoardConfig
    knobs: SyncKnobs
    info: BoardInfo
    payloads: dict[str, LinePayload]
    state: dict[str, st.LineState]
    queue: deque[Op]
    waiting: dict[str, list[Op]]
    open_ops: dict[str, int]
    report: ExecutionReport
    _dirty_lines: set[str]
    _dirty_subitems: set[tuple[str, str]]
    _new_failures: list[dict[str, Any]]

    def _op_done(self, op: Op) -> None:
        raise NotImplementedError

    def _requeue(self, ops: list[Op]) -> None:
        raise NotImplementedError

    # ---- ambiguity -----------------------------------------------------------------------------

    def _recover(self, batch: list[Op]) -> None:
        """Find out what an ambiguous batch applied; re-queue only what is still missing."""
        retry: list[Op] = []
        item_creates = [op for op in batch if op.kind == "create_item"]
        if item_creates:
            found = find_items_by_external_id(
                self.client, self.config, self.info.board_id, [op.record_uuid for op in item_creates]
            )
            for op in item_creates:
                items = found.get(op.record_uuid)
                if items:
                    self.remove_duplicates(op.record_uuid, [f.item_id for f in items[1:]])
                    self._adopt_item(op, items[0].item_id, items[0].group_id)
                else:
                    retry.append(op)
        sub_creates = [op for op in batch if op.kind == "create_subitem"]
        if sub_creates:
            parents = sorted({self.state[op.record_uuid].item_id or "" for op in sub_creates})
            children = find_subitems(self.client, self.config, parents)
            for op in sub_creates:
                line = self.state[op.record_uuid]
                assert op.size is not None
                ids = children.get(line.item_id or "", {}).get(subitem_name(self.config, op.size)) or []
                sub_id = ids[0] if ids else None
                self.remove_duplicates(op.record_uuid, ids[1:])
                if sub_id:
                    line.subitems[op.size] = st.SubitemState(op.size, sub_id, op.quantity, "active")
                    self._dirty_subitems.add((op.record_uuid, op.size))
                    self._op_done(op)
                else:
                    retry.append(op)
        retry += [op for op in batch if op.kind not in CREATES]
        for op in retry:
            op.attempts += 1
        # Back to the front of the queue: the executor re-sends them (in smaller batches when the
        # ambiguity repeats) for as long as operations keep completing.
        self._requeue(retry)

    def remove_duplicates(self, record_uuid: str, extra_ids: list[str]) -> None:
        """Queue the deletion of items or subitems that duplicate the one kept (reported)."""
        if not extra_ids:
            return
        log.warning("%d duplicate(s) of line %s on the board: deleting them", len(extra_ids), record_uuid)
        self.report.duplicates_found += len(extra_ids)
        self.open_ops[record_uuid] = self.open_ops.get(record_uuid, 0) + len(extra_ids)
        self.queue.extendleft(Op("delete_duplicate", record_uuid, target_id=i) for i in extra_ids)

    def remove_duplicates_ops(self, ops: list[Op]) -> None:
        """Queue delete_duplicate ops found before or after the run (pending.py), reported."""
        self.report.duplicates_found += len(ops)
        for op in ops:
            self.open_ops[op.record_uuid] = self.open_ops.get(op.record_uuid, 0) + 1
        self.queue.extend(ops)

    def _adopt_item(self, op: Op, item_id: str, group_id: str | None) -> None:
        """A create that did land: keep its id, re-send the values (cheap, idempotent) and move if needed."""
        line = self.state[op.record_uuid]
        line.item_id, line.status, line.item_hash, line.item_values = item_id, "active", None, None
        payload = self.payloads[op.record_uuid]
        extra = [Op("update_item", op.record_uuid)]
        if group_id and group_id != self.info.groups.get(payload.group_title):
            extra.append(Op("move_item", op.record_uuid))
        self.open_ops[op.record_uuid] = self.open_ops.get(op.record_uuid, 0) + len(extra)
        self._dirty_lines.add(op.record_uuid)
        self._op_done(op)
        self.queue.extendleft(reversed(extra))
        self.queue.extend(self.waiting.pop(op.record_uuid, []))
