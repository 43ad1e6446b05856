"""One planned operation -> one aliased GraphQL mutation field (text, variable definitions, values).

Clearing and updating follow the API: `column_values` is a JSON string; an update carries exactly
the cells that differ from what the item holds (MONDAY_LINE.item_values), a blank cell as `null`;
a season-group change is `move_item_to_group`; duplicates found on the board are `delete_item`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from order_platform.monday.apply.board import BoardInfo
from order_platform.monday.mapping import BoardConfig
from order_platform.monday.plan.payloads import LinePayload, subitem_name, subitem_values
from order_platform.monday.plan.planner import Op
from order_platform.monday.state import sync_state as st

Rendered = tuple[str, list[str], dict[str, Any]]


@dataclass
class RenderContext:
    config: BoardConfig
    info: BoardInfo
    payloads: dict[str, LinePayload]
    state: dict[str, st.LineState]


def update_item_values(payload: LinePayload, line: st.LineState) -> dict[str, Any]:
    """The column values of an update: the changed cells only (everything when the base is unknown)."""
    applied = json.loads(line.item_values) if line.item_values else None
    return payload.update_values(applied) or {"name": payload.item_name}


def document_variables(batch: list[Op], info: BoardInfo) -> tuple[list[str], dict[str, Any]]:
    """Shared variables of a batch: `$b` (the board) and `$s` (the subitems board) when used."""
    definitions: list[str] = []
    variables: dict[str, Any] = {}
    if any(op.kind in ("create_item", "update_item") for op in batch):  # unused variables are an error
        definitions.append("$b: ID!")
        variables["b"] = info.board_id
    if any(op.kind == "update_subitem" for op in batch):
        definitions.append("$s: ID!")
        variables["s"] = info.subitems_board_id or ""
    return definitions, variables


def render(i: int, op: Op, ctx: RenderContext) -> Rendered:
    """Field `m<i>` of the mutation document for `op`."""
    line = ctx.state.get(op.record_uuid)
    payload = ctx.payloads.get(op.record_uuid)
    groups = ctx.info.groups
    if op.kind == "create_item":
        assert payload is not None
        return (
            f"m{i}: create_item(board_id: $b, group_id: $g{i}, item_name: $n{i}, column_values: $v{i}, "
            f"create_labels_if_missing: true) {{ id }}",
            [f"$g{i}: String", f"$n{i}: String!", f"$v{i}: JSON"],
            {
                f"g{i}": groups[payload.group_title],
                f"n{i}": payload.item_name,
                f"v{i}": payload.create_values_json(),
            },
        )
    if op.kind == "update_item":
        assert payload is not None and line is not None
        values = update_item_values(payload, line)
        return (
            f"m{i}: change_multiple_column_values(board_id: $b, item_id: $i{i}, column_values: $v{i}, "
            f"create_labels_if_missing: true) {{ id }}",
            [f"$i{i}: ID", f"$v{i}: JSON!"],
            {f"i{i}": line.item_id, f"v{i}": json.dumps(values, ensure_ascii=False)},
        )
    if op.kind == "move_item":
        assert payload is not None and line is not None
        return (
            f"m{i}: move_item_to_group(item_id: $i{i}, group_id: $g{i}) {{ id }}",
            [f"$i{i}: ID", f"$g{i}: String!"],
            {f"i{i}": line.item_id, f"g{i}": groups[payload.group_title]},
        )
    if op.kind == "archive_item":
        assert line is not None
        return f"m{i}: archive_item(item_id: $i{i}) {{ id }}", [f"$i{i}: ID"], {f"i{i}": line.item_id}
    if op.kind == "delete_duplicate":
        return f"m{i}: delete_item(item_id: $i{i}) {{ id }}", [f"$i{i}: ID"], {f"i{i}": op.target_id}
    assert line is not None and op.size is not None
    if op.kind == "create_subitem":
        values = subitem_values(ctx.config, op.size, op.quantity or 0)
        return (
            f"m{i}: create_subitem(parent_item_id: $p{i}, item_name: $n{i}, column_values: $v{i}, "
            f"create_labels_if_missing: true) {{ id board {{ id }} }}",
            [f"$p{i}: ID!", f"$n{i}: String!", f"$v{i}: JSON"],
            {
                f"p{i}": line.item_id,
                f"n{i}": subitem_name(ctx.config, op.size),
                f"v{i}": json.dumps(values, ensure_ascii=False),
            },
        )
    sub = line.subitems[op.size]
    if op.kind == "update_subitem":
        values = subitem_values(ctx.config, op.size, op.quantity or 0)
        return (
            f"m{i}: change_multiple_column_values(board_id: $s, item_id: $i{i}, column_values: $v{i}, "
            f"create_labels_if_missing: true) {{ id }}",
            [f"$i{i}: ID", f"$v{i}: JSON!"],
            {f"i{i}": sub.subitem_id, f"v{i}": json.dumps(values, ensure_ascii=False)},
        )
    return f"m{i}: delete_item(item_id: $i{i}) {{ id }}", [f"$i{i}: ID"], {f"i{i}": sub.subitem_id}
