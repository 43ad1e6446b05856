"""A dry run's plan as rows (MONDAY_PLAN and the result's sample), JSON-encoded fast."""

from __future__ import annotations

from typing import Any

from order_platform.monday import state as st
from order_platform.monday.payloads import LinePayload
from order_platform.monday.planner import Plan

_PLAN_HEADS: dict[Any, str] = {}


def plan_json(row: dict[str, Any], payload: LinePayload | None) -> st.EncodedJson:
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


def plan_rows(plan: Plan, payloads: dict[str, LinePayload]) -> list[dict[str, Any]]:
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
