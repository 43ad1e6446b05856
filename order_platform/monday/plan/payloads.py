"""One customer's ORDER_LIST lines -> what each order line should look like on the board.

Every line with a line id becomes a payload: a cell that cannot be formatted for its column is left
blank (cleared on the item) and reported as a `CellIssue`; formula-like text is neutralised and
reported too (formatting.py states both rules). Only a missing or repeated line id fails a line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import filterfalse
from json.encoder import encode_basestring  # what item_hash's json.dumps uses for str (ensure_ascii=False)
from typing import Any

import pandas as pd

from order_platform.monday.mapping import BoardConfig, NameRule, size_columns
from order_platform.monday.plan.columns import (
    JSON,
    NULL_FRAGMENTS,
    cells,
    format_column,
    frame_size_cells,
    size_quantities,
    text_column,
)
from order_platform.monday.plan.formatting import NEUTRALISED, FormatError, is_blank, is_formula_like, neutralise
from order_platform.monday.plan.lines import RawLines
from order_platform.workers.collector import paused

ITEM_NAME = "(item name)"
GROUP_NAME = "(group)"
VALUE_SHOWN_CHARS = 200


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
    # '"column id": <JSON value>' per column sorted by id, as hashed by build_payloads (empty otherwise).
    column_json: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def digest(self) -> str:
        """item_hash, computed from column_json on first use when build_payloads left it empty (a dry run
        of new lines never needs it)."""
        if not self.item_hash and self.column_json:
            blob = '{"c": {' + ", ".join(self.column_json) + '}, "n": ' + encode_basestring(self.item_name) + "}"
            object.__setattr__(self, "item_hash", hashlib.sha256(blob.encode("utf-8")).hexdigest())
        return self.item_hash or item_hash(self.item_name, self.columns)

    def create_values(self) -> dict[str, Any]:
        """column_values for create_item: blanks omitted."""
        return {k: v for k, v in self.columns.items() if v is not None}

    def create_values_json(self) -> str:
        """create_values() as JSON with sorted keys (state.to_json), reusing column_json when set."""
        if not self.column_json:
            return JSON.encode(self.create_values())
        return "{" + ", ".join(filterfalse(NULL_FRAGMENTS.__contains__, self.column_json)) + "}"

    def applied_json(self) -> str:
        """What the item holds once this payload is applied: its name and non-blank values (stored in
        MONDAY_LINE.item_values, the base of the next update's difference)."""
        return json.dumps({"name": self.item_name, **self.create_values()}, ensure_ascii=False, sort_keys=True)

    def update_values(self, applied: dict[str, Any] | None) -> dict[str, Any]:
        """column_values for change_multiple_column_values: exactly the cells that differ from
        `applied` (what the item holds, from applied_json), blanks cleared with null; the name only
        when it changed. Without `applied` (unknown): every mapped cell and the name."""
        if applied is None:
            return {"name": self.item_name, **self.columns}
        values: dict[str, Any] = {}
        if applied.get("name") != self.item_name:
            values["name"] = self.item_name
        for column_id, value in self.columns.items():
            if applied.get(column_id) != value:
                values[column_id] = value  # None -> null: clears the cell
        return values


@dataclass(frozen=True)
class LineFailure:
    """A line that could not be planned or sent; stored with its payload, retried next run."""

    record_uuid: str
    code: str
    message: str
    operation: str = "format"
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CellIssue:
    """A cell that was cleared (could not be formatted) or neutralised (formula-like) on its way to the
    board. `column` is the ORDER_LIST column (or "(item name)", "(group)", a size)."""

    record_uuid: str
    column: str
    monday_column_id: str
    value: str
    code: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {
            "record_uuid": self.record_uuid,
            "column": self.column,
            "monday_column_id": self.monday_column_id,
            "value": self.value,
            "code": self.code,
            "reason": self.reason,
        }


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


@dataclass
class Payloads:
    """build_payloads' answer: payload per record_uuid, failed lines, and the cell issues."""

    lines: dict[str, LinePayload]
    failures: dict[str, LineFailure]
    issues: list[CellIssue]


def build_payloads(lines: pd.DataFrame | RawLines, customer: str, config: BoardConfig) -> Payloads:
    """Desired payload per record_uuid, the lines without a usable line id, and the cell issues.

    Column-wise (columns.py): each ORDER_LIST column is converted once, formatted with a per-value
    table, and only the non-blank cells of the size block are formatted. Results are those of
    formatting each row's values one by one (pinned by test_payloads_columnwise).
    """
    # Planning allocates dozens of small acyclic containers per line; each full collection this would
    # trigger also walks every object column of the frame (a third of build_payloads' time at 20K lines).
    with paused():
        return _build_payloads(lines, customer, config)




def _shown(value: Any) -> str:
    return str(value)[:VALUE_SHOWN_CHARS]


def _build_payloads(lines: pd.DataFrame | RawLines, customer: str, config: BoardConfig) -> Payloads:
    knobs = config.sync
    id_source = knobs.external_id_column.source
    count = len(lines)
    if isinstance(lines, RawLines):
        converted = lines.values
        size_cells: Iterable[tuple[int, str, Any]] = lines.size_cells
    else:
        if not lines.columns.is_unique:  # a row dict would keep the last of equally named columns
            lines = lines.loc[:, ~lines.columns.duplicated(keep="last")]
        converted = {}
        size_cells = frame_size_cells(lines, [c for c in size_columns() if c in lines.columns])
    if id_source not in converted and (isinstance(lines, RawLines) or id_source not in lines.columns):
        raise KeyError(f"lines has no {id_source!r} column (the stable line id)")

    def column(name: str) -> list[Any]:
        if name not in converted:
            if isinstance(lines, RawLines) or name not in lines.columns:
                converted[name] = [None] * count
            else:
                converted[name] = cells(lines[name])
        return converted[name]

    external_id = knobs.external_id_column.monday_column_id
    column_ids: list[str] = []
    formatted: list[list[Any]] = []
    fragments: dict[str, list[str]] = {}  # column id -> per row '"id": <json value>' (last mapping wins)
    row_issues: dict[int, list[tuple[str, str, Any, str, str]]] = {}
    for item in config.item_columns:
        source = column(item.order_list_column)
        values, encoded, column_errors, neutralised = format_column(
            source, item.monday_type, knobs.long_text_max_chars, JSON.encode(item.monday_column_id) + ": "
        )
        column_ids.append(item.monday_column_id)
        formatted.append(values)
        fragments[item.monday_column_id] = encoded
        for position, exc in column_errors.items():
            reason = f"not a {item.monday_type} value, cell cleared: {exc.message}"
            row_issues.setdefault(position, []).append(
                (item.order_list_column, item.monday_column_id, source[position], exc.code, reason)
            )
        for position in neutralised:
            row_issues.setdefault(position, []).append(
                (item.order_list_column, item.monday_column_id, source[position], NEUTRALISED, _NEUTRAL)
            )
    row_values = list(zip(*formatted, strict=True)) if formatted else [()] * count
    texts: dict[str, list[Any]] = {}
    for part in knobs.item_name.parts + knobs.group_name.parts:
        for name in part:
            if name not in texts:
                texts[name] = text_column(column(name))
    item_names = _names([[texts[name] for name in part] for part in knobs.item_name.parts], knobs.item_name)
    group_names = _names([[texts[name] for name in part] for part in knobs.group_name.parts], knobs.group_name)
    sizes, size_errors = size_quantities(size_cells, count)
    for position, size, value, exc in size_errors:
        reason = f"no subitem for this size: {exc.message}"
        row_issues.setdefault(position, []).append((size, "", value, exc.code, reason))
    ids = column(id_source)
    # The hash blob is {"c": {sorted columns}, "n": name}; the external id is slotted in per row.
    fragments.pop(external_id, None)
    hash_keys = sorted([*fragments, external_id])
    external_slot = hash_keys.index(external_id)
    external_prefix = JSON.encode(external_id) + ": "
    hash_rows = list(zip(*(fragments[k] for k in hash_keys if k != external_id), strict=True))
    if not hash_rows:
        hash_rows = [()] * count

    out = Payloads({}, {}, [])
    payloads, failures = out.lines, out.failures
    for position in range(count):
        raw_id = ids[position]
        record_uuid = raw_id.strip() if type(raw_id) is str else None if is_blank(raw_id) else str(raw_id).strip()
        if not record_uuid:
            key = f"<row {position} without {id_source}>"
            failures[key] = LineFailure(key, "MISSING_LINE_ID", f"row {position} has no {id_source}")
            continue
        if record_uuid in payloads or record_uuid in failures:
            failures[record_uuid] = LineFailure(
                record_uuid, "DUPLICATE_LINE_ID", f"{id_source} {record_uuid} appears more than once"
            )
            payloads.pop(record_uuid, None)
            continue
        issues = row_issues.get(position) or []
        columns = dict(zip(column_ids, row_values[position], strict=True))
        columns[external_id] = record_uuid
        named = _checked(item_names[position], knobs.item_name, ITEM_NAME, issues)
        if named is None:
            named = f"(no name) {record_uuid}"
            issues.append((ITEM_NAME, "name", "", "EMPTY_NAME", f"no value in any of {knobs.item_name.parts}"))
        group = _checked(group_names[position], knobs.group_name, GROUP_NAME, issues) or neutralise(customer)
        row = hash_rows[position]
        parts = (*row[:external_slot], external_prefix + encode_basestring(record_uuid), *row[external_slot:])
        payloads[record_uuid] = LinePayload(
            record_uuid, customer, named, group, columns, sizes[position] or {}, "", parts
        )  # item_hash on demand: LinePayload.digest
        if issues:
            out.issues.extend(
                CellIssue(record_uuid, col, monday_id, _shown(value), code, reason)
                for col, monday_id, value, code, reason in issues
            )
    if failures:  # a repeated line id: its earlier occurrence's issues go with it
        out.issues = [i for i in out.issues if i.record_uuid in payloads]
    return out


_NEUTRAL = "formula-like text: sent with a leading apostrophe so it is never read as a formula"


def _names(parts: list[list[list[Any]]], rule: NameRule) -> list[str]:
    """Per row, column-wise: the first non-blank text of each part (a value that cannot be text counts
    as blank), joined by the separator, trimmed and cut to the rule's length ("" when all are blank)."""
    chosen: list[list[Any]] = []
    for candidates in parts:
        column = [None if type(t) is FormatError else t for t in candidates[0]]
        for other in candidates[1:]:
            column = [
                a if a is not None else (None if type(b) is FormatError else b)
                for a, b in zip(column, other, strict=True)
            ]
        chosen.append(column)
    join, limit = rule.separator.join, rule.max_chars
    return [join([p for p in row if p]).strip()[:limit].rstrip() for row in zip(*chosen, strict=True)]


def _checked(name: str, rule: NameRule, label: str, issues: list[tuple[str, str, Any, str, str]]) -> str | None:
    """The name as sent (formula-like text neutralised and noted); None when empty."""
    if not name:
        return None
    if is_formula_like(name):
        issues.append((label, "name" if label == ITEM_NAME else "group", name, NEUTRALISED, _NEUTRAL))
        name = neutralise(name)[: rule.max_chars]
    return name
