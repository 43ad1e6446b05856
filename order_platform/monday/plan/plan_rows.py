"""A dry run's plan as rows: MONDAY_PLAN payloads (JSON text, assembled from pre-encoded pieces) and
the dict rows of the result's sample. A stored payload equals `state.to_json(row)` of its dict row.
A create's operations are implied (create_item, then one create_subitem per size in `sizes`) and not
listed; other rows list theirs under `ops`."""

from __future__ import annotations

from json.encoder import encode_basestring
from typing import Any

from order_platform.monday.plan.payloads import LinePayload
from order_platform.monday.plan.planner import LinePlan, Plan


def plan_row(line: LinePlan, payload: LinePayload | None) -> dict[str, Any]:
    row: dict[str, Any] = {"record_uuid": line.record_uuid, "action": line.action, "reason": line.reason}
    if line.action != "create":  # a create's ops are implied: create_item + one create_subitem per size
        row["ops"] = [{"op": op.kind, "size": op.size, "quantity": op.quantity} for op in line.ops]
    if payload is not None and line.action in ("create", "update"):
        row.update(
            item_name=payload.item_name,
            group_title=payload.group_title,
            column_values=payload.create_values(),
            sizes=payload.sizes,
        )
    return row


def plan_rows(plan: Plan, payloads: dict[str, LinePayload]) -> list[dict[str, Any]]:
    return [plan_row(line, payloads.get(line.record_uuid)) for line in plan.lines]


_SIZE_JSON: dict[str, str] = {}


def _size(size: str | None) -> str:
    if size is None:
        return "null"
    text = _SIZE_JSON.get(size)
    if text is None:
        text = _SIZE_JSON[size] = encode_basestring(size)
    return text


def plan_json(line: LinePlan, payload: LinePayload | None) -> str:
    """to_json(plan_row(line, payload)) without building the row (keys in sorted order)."""
    head = f'{{"action": "{line.action}", '
    reason, uuid = encode_basestring(line.reason), encode_basestring(line.record_uuid)
    if line.action == "create" and payload is not None:
        sizes = ", ".join([_size(k) + ": " + str(v) for k, v in sorted(payload.sizes.items())])
        return (
            f'{head}"column_values": {payload.create_values_json()}, '
            f'"group_title": {encode_basestring(payload.group_title)}, '
            f'"item_name": {encode_basestring(payload.item_name)}, "reason": {reason}, "record_uuid": {uuid}, '
            f'"sizes": {{{sizes}}}}}'
        )
    ops = ", ".join(
        [
            '{"op": "'
            + op.kind
            + '", "quantity": '
            + ("null" if op.quantity is None else str(op.quantity))
            + ', "size": '
            + _size(op.size)
            + "}"
            for op in line.ops
        ]
    )
    tail = f'"ops": [{ops}], "reason": {reason}, "record_uuid": {uuid}'
    if payload is None or line.action not in ("create", "update"):
        return head + tail + "}"
    sizes = ", ".join([_size(k) + ": " + str(v) for k, v in sorted(payload.sizes.items())])
    return (
        f'{head}"column_values": {payload.create_values_json()}, '
        f'"group_title": {encode_basestring(payload.group_title)}, '
        f'"item_name": {encode_basestring(payload.item_name)}, {tail}, "sizes": {{{sizes}}}}}'
    )
