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

from order_platform.monday.payloads import LineFailure, LinePayload
from order_platform.monday.state import LineState

Action = Literal["create", "update", "unchanged", "archive", "failed"]
OpKind = Literal[
    "create_item",
    "update_item",
    "move_item",
    "archive_item",
    "create_subitem",
    "update_subitem",
    "delete_subitem",
]


@dataclass
class Op:
    """One mutation to send. Ids are filled in at execution time when they come from earlier ops."""

    kind: OpKind
    record_uuid: str
    size: str | None = None
    quantity: int | None = None
    attempts: int = 0


@dataclass
class LinePlan:
    record_uuid: str
    action: Action
    ops: list[Op] = field(default_factory=list)
    reason: str = ""


@dataclass
class Plan:
    lines: list[LinePlan]
    archive_guard_tripped: bool = False

    def count(self, action: Action) -> int:
        return sum(1 for line in self.lines if line.action == action)

    @property
    def ops(self) -> list[Op]:
        return [op for line in self.lines for op in line.ops]


def plan_lines(
    payloads: dict[str, LinePayload],
    state: dict[str, LineState],
    failures: dict[str, LineFailure],
    *,
    customer: str,
    archive_guard_fraction: float = 1.0,
) -> Plan:
    """The plan for one customer. Format failures are planned as `failed` and are never archived."""
    plans: list[LinePlan] = []
    for record_uuid, payload in payloads.items():
        plans.append(_plan_line(payload, state.get(record_uuid)))
    for record_uuid, failure in failures.items():
        plans.append(LinePlan(record_uuid, "failed", reason=f"{failure.code}: {failure.message}"))

    gone = [
        s
        for uuid, s in state.items()
        if s.customer == customer
        and s.status == "active"
        and s.item_id
        and uuid not in payloads
        and uuid not in failures
    ]
    live = sum(1 for s in state.values() if s.customer == customer and s.status == "active")
    tripped = bool(gone) and live > 0 and len(gone) / live > archive_guard_fraction
    if not tripped:
        for s in gone:
            plans.append(LinePlan(s.record_uuid, "archive", [Op("archive_item", s.record_uuid)], "cancelled"))
    return Plan(plans, archive_guard_tripped=tripped)


def _plan_line(payload: LinePayload, current: LineState | None) -> LinePlan:
    uuid = payload.record_uuid
    if current is None or current.status != "active" or not current.item_id:
        ops = [Op("create_item", uuid)]
        ops += [Op("create_subitem", uuid, size, qty) for size, qty in payload.sizes.items()]
        reason = "new line" if current is None else f"state {current.status}"
        return LinePlan(uuid, "create", ops, reason)

    ops: list[Op] = []
    if current.item_hash != payload.item_hash:
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
