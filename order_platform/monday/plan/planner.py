"""Plan create / update / unchanged / archive per line from the desired payloads and the stored state.

Pure functions, no I/O: the same plan is what a dry run stores and what a real run executes.
Choices (documented in monday_board.json `sync`):
- a size whose quantity drops to 0 or blank: its subitem is deleted (the board only shows sizes > 0);
- a line gone from the customer's ORDER_LIST slice (cancelled): its item is archived, not deleted;
  a line that later reappears gets a new item;
- a line whose create is still `creating` (outcome unknown) is resolved by external-id lookup
  before planning (sync.resolve_pending); in a dry run it is planned as a create.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from order_platform.monday.plan.payloads import LineFailure, LinePayload
from order_platform.monday.state.sync_state import LineState

Action = Literal["create", "update", "unchanged", "archive", "failed"]
OpKind = Literal[
    "create_item",
    "update_item",
    "move_item",
    "archive_item",
    "create_subitem",
    "update_subitem",
    "delete_subitem",
    "delete_duplicate",
]


@dataclass(slots=True)
class Op:
    """One mutation to send. Ids are filled in at execution time when they come from earlier ops."""

    kind: OpKind
    record_uuid: str
    size: str | None = None
    quantity: int | None = None
    attempts: int = 0
    target_id: str | None = None  # delete_duplicate: the extra item or subitem to delete


@dataclass(slots=True)
class LinePlan:
    record_uuid: str
    action: Action
    ops: list[Op] = field(default_factory=list)
    reason: str = ""


@dataclass
class Plan:
    lines: list[LinePlan]

    def count(self, action: Action) -> int:
        return sum(1 for line in self.lines if line.action == action)

    @property
    def ops(self) -> list[Op]:
        return [op for line in self.lines for op in line.ops]


def plan_lines(
    payloads: dict[str, LinePayload],
    state: dict[str, LineState],
    failures: dict[str, LineFailure],
) -> Plan:
    """The plan for these lines; lines without a usable line id are planned as `failed`. (Lines gone
    from the board's scope are archived by the caller, board_run.BoardRun._archive_gone.)"""
    plans = [_plan_line(payload, state.get(uuid)) for uuid, payload in payloads.items()]
    plans += [LinePlan(uuid, "failed", reason=f"{f.code}: {f.message}") for uuid, f in failures.items()]
    return Plan(plans)


def _plan_line(payload: LinePayload, current: LineState | None) -> LinePlan:
    uuid = payload.record_uuid
    if current is None or current.status != "active" or not current.item_id:
        ops: list[Op] = [Op("create_item", uuid)]
        ops += [Op("create_subitem", uuid, size, qty) for size, qty in payload.sizes.items()]
        reason = "new line" if current is None else f"state {current.status}"
        return LinePlan(uuid, "create", ops, reason)

    ops = []
    if current.item_hash != payload.digest():
        ops.append(Op("update_item", uuid))
    if current.group_title != payload.group_title or not current.group_id:
        ops.append(Op("move_item", uuid))
    for size, qty in payload.sizes.items():
        existing = current.subitems.get(size)
        if existing is None or existing.status != "active" or not existing.subitem_id:
            ops.append(Op("create_subitem", uuid, size, qty))
        elif existing.quantity != qty:
            ops.append(Op("update_subitem", uuid, size, qty))
    for size, existing in current.subitems.items():
        if size not in payload.sizes and existing.subitem_id:
            ops.append(Op("delete_subitem", uuid, size))
    if not ops:
        return LinePlan(uuid, "unchanged")
    return LinePlan(uuid, "update", ops, ", ".join(sorted({op.kind for op in ops})))
