"""One customer's ORDER_LIST slice -> what each order line should look like on the board."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from order_platform.lib.monday.formatting import (
    FormatError,
    build_name,
    format_quantity,
    format_value,
    is_blank,
)
from order_platform.lib.monday.mapping import BoardConfig, size_columns


@dataclass(frozen=True)
class LinePayload:
    """The desired board state of one order line: item name, group, column values and sizes."""

    record_uuid: str
    customer: str
    item_name: str
    group_title: str
    columns: dict[str, Any]  # board column id -> API value, None = blank (includes the external id)
    sizes: dict[str, int]  # size -> quantity > 0, one subitem each
    item_hash: str = field(default="", compare=False)

    def create_values(self) -> dict[str, Any]:
        """column_values for create_item: blanks omitted."""
        return {k: v for k, v in self.columns.items() if v is not None}

    def update_values(self, column_types: dict[str, str], clear_values: dict[str, Any]) -> dict[str, Any]:
        """column_values for change_multiple_column_values: every mapped column, blanks cleared, plus name."""
        values: dict[str, Any] = {"name": self.item_name}
        for column_id, value in self.columns.items():
            values[column_id] = clear_values.get(column_types[column_id], "") if value is None else value
        return values


@dataclass(frozen=True)
class LineFailure:
    """A line that could not be planned or sent; stored with its payload, retried next run."""

    record_uuid: str
    code: str
    message: str
    operation: str = "format"
    payload: dict[str, Any] = field(default_factory=dict)


def item_hash(name: str, columns: dict[str, Any]) -> str:
    """Stable fingerprint of what create/update sends for the item itself (group and sizes excluded)."""
    blob = json.dumps({"n": name, "c": columns}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def subitem_values(config: BoardConfig, size: str, quantity: int) -> dict[str, Any]:
    return {
        config.size_column.monday_column_id: {"labels": [size]},
        config.qty_column.monday_column_id: str(quantity),
    }


def subitem_name(config: BoardConfig, size: str) -> str:
    return config.sync.subitem_name_template.format(size=size)[:255]


def build_payloads(
    lines: pd.DataFrame, customer: str, config: BoardConfig
) -> tuple[dict[str, LinePayload], dict[str, LineFailure]]:
    """Desired payload per record_uuid, and the lines that failed formatting (never sent)."""
    knobs = config.sync
    id_source = knobs.external_id_column.source
    sizes_present = [c for c in size_columns() if c in lines.columns]
    wanted = {c.order_list_column for c in config.item_columns}
    wanted.update(col for part in knobs.item_name.parts + knobs.group_name.parts for col in part)
    needed = [c for c in dict.fromkeys([id_source, *wanted, *sizes_present]) if c in lines.columns]
    if id_source not in lines.columns:
        raise KeyError(f"lines has no {id_source!r} column (the stable line id)")

    payloads: dict[str, LinePayload] = {}
    failures: dict[str, LineFailure] = {}
    for position, row in enumerate(lines[needed].to_dict("records")):
        raw_id = row.get(id_source)
        if is_blank(raw_id):
            key = f"<row {position} without {id_source}>"
            failures[key] = LineFailure(key, "MISSING_LINE_ID", f"row {position} has no {id_source}")
            continue
        record_uuid = str(raw_id).strip()
        if record_uuid in payloads or record_uuid in failures:
            failures[record_uuid] = LineFailure(
                record_uuid, "DUPLICATE_LINE_ID", f"{id_source} {record_uuid} appears more than once"
            )
            payloads.pop(record_uuid, None)
            continue
        try:
            payloads[record_uuid] = _line_payload(row, record_uuid, customer, sizes_present, config)
        except FormatError as exc:
            failures[record_uuid] = LineFailure(
                record_uuid, exc.code, exc.message, payload=_raw_payload(row, config)
            )
    return payloads, failures


def _line_payload(
    row: dict[str, Any], record_uuid: str, customer: str, sizes_present: list[str], config: BoardConfig
) -> LinePayload:
    knobs = config.sync
    columns: dict[str, Any] = {}
    for column in config.item_columns:
        try:
            columns[column.monday_column_id] = format_value(
                column.monday_type, row.get(column.order_list_column), long_text_max=knobs.long_text_max_chars
            )
        except FormatError as exc:
            raise FormatError(
                exc.code,
                f"{column.order_list_column} -> {column.monday_column_id} "
                f"({column.monday_type}): {exc.message}",
            ) from None
    columns[knobs.external_id_column.monday_column_id] = record_uuid
    name = build_name(row, knobs.item_name.parts, knobs.item_name.separator, knobs.item_name.max_chars)
    group = build_name(row, knobs.group_name.parts, knobs.group_name.separator, knobs.group_name.max_chars)
    sizes: dict[str, int] = {}
    for size in sizes_present:
        try:
            quantity = format_quantity(row.get(size))
        except FormatError as exc:
            raise FormatError(exc.code, f"size {size}: {exc.message}") from None
        if quantity > 0:
            sizes[size] = quantity
    return LinePayload(record_uuid, customer, name, group, columns, sizes, item_hash(name, columns))


def _raw_payload(row: dict[str, Any], config: BoardConfig) -> dict[str, Any]:
    """The source values of a line that failed formatting (what would have been sent), JSON-safe."""
    raw = {c.order_list_column: row.get(c.order_list_column) for c in config.item_columns}
    return {k: (None if is_blank(v) else str(v)) for k, v in raw.items()}
