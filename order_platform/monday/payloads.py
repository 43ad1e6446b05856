"""One customer's ORDER_LIST slice -> what each order line should look like on the board."""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import filterfalse, repeat
from json.encoder import encode_basestring  # what item_hash's json.dumps uses for str (ensure_ascii=False)
from typing import Any

import numpy as np
import pandas as pd

from order_platform.monday.formatting import (
    FormatError,
    _as_text,
    format_quantity,
    format_value,
    is_blank,
)
from order_platform.monday.mapping import BoardConfig, NameRule, size_columns


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

    def create_values(self) -> dict[str, Any]:
        """column_values for create_item: blanks omitted."""
        return {k: v for k, v in self.columns.items() if v is not None}

    def create_values_json(self) -> str:
        """create_values() as JSON with sorted keys (state.to_json), reusing column_json when set."""
        if not self.column_json:
            return _JSON.encode(self.create_values())
        return "{" + ", ".join(filterfalse(_NULL_FRAGMENTS.__contains__, self.column_json)) + "}"

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


# item_hash's json.dumps options: a value encodes the same alone as nested (no indent), so the blob can
# be assembled from per-value fragments (build_payloads caches them per distinct source value).
_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)
_NULL_FRAGMENTS: set[str] = set()  # the '"column id": null' fragments build_payloads has made


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
    """Desired payload per record_uuid, and the lines that failed formatting (never sent).

    Column-wise: each ORDER_LIST column is converted once (the values a row-wise
    `to_dict("records")` would give, see `_cells`), formatted with a per-value cache, and only the
    non-blank cells of the size block are formatted. Results are those of formatting each row's
    values one by one: same payloads, hashes and failures (pinned by test_payloads_columnwise).
    """
    with gc_paused():
        return _build_payloads(lines, customer, config)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection meanwhile, for CPU-bound planning steps (never around I/O waits).

    Planning allocates dozens of small acyclic containers per line; each full collection this triggers
    also walks every object column of the frame (a third of build_payloads' time at 20K lines).
    Reference counting still frees everything; the collector's previous state is restored."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build_payloads(
    lines: pd.DataFrame, customer: str, config: BoardConfig
) -> tuple[dict[str, LinePayload], dict[str, LineFailure]]:
    knobs = config.sync
    id_source = knobs.external_id_column.source
    if id_source not in lines.columns:
        raise KeyError(f"lines has no {id_source!r} column (the stable line id)")
    if not lines.columns.is_unique:  # a row dict would keep the last of equally named columns
        lines = lines.loc[:, ~lines.columns.duplicated(keep="last")]
    count = len(lines)
    sizes_present = [c for c in size_columns() if c in lines.columns]
    cells: dict[str, list[Any]] = {}

    def column(name: str) -> list[Any]:
        if name not in cells:
            cells[name] = _cells(lines[name]) if name in lines.columns else [None] * count
        return cells[name]

    # Item columns, in mapping order: the first failing column of a row is the row's error.
    external_id = knobs.external_id_column.monday_column_id
    column_ids: list[str] = []
    formatted: list[list[Any]] = []
    fragments: dict[str, list[str]] = {}  # column id -> per row '"id": <json value>' (last mapping wins)
    errors: dict[int, FormatError] = {}
    for item in config.item_columns:
        values, encoded, column_errors = _format_column(
            column(item.order_list_column),
            item.monday_type,
            knobs.long_text_max_chars,
            _JSON.encode(item.monday_column_id) + ": ",
        )
        column_ids.append(item.monday_column_id)
        formatted.append(values)
        fragments[item.monday_column_id] = encoded
        for position, exc in column_errors.items():
            if position not in errors:
                errors[position] = FormatError(
                    exc.code,
                    f"{item.order_list_column} -> {item.monday_column_id} ({item.monday_type}): {exc.message}",
                )
    row_values = list(zip(*formatted, strict=True)) if formatted else [()] * count
    texts: dict[str, list[Any]] = {}
    for part in knobs.item_name.parts + knobs.group_name.parts:
        for name in part:
            if name not in texts:
                texts[name] = _text_column(column(name))
    item_parts = [[texts[name] for name in part] for part in knobs.item_name.parts]
    group_parts = [[texts[name] for name in part] for part in knobs.group_name.parts]
    sizes, size_errors = _size_quantities(lines, sizes_present, count)
    ids = column(id_source)
    # The hash blob is {"c": {sorted columns}, "n": name}; the external id is slotted in per row.
    fragments.pop(external_id, None)
    hash_keys = sorted([*fragments, external_id])
    external_slot = hash_keys.index(external_id)
    external_prefix = _JSON.encode(external_id) + ": "
    hash_rows = list(zip(*(fragments[k] for k in hash_keys if k != external_id), strict=True))
    if not hash_rows:
        hash_rows = [()] * count

    payloads: dict[str, LinePayload] = {}
    failures: dict[str, LineFailure] = {}
    for position in range(count):
        raw_id = ids[position]
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
            if position in errors:
                raise errors[position]
            columns = dict(zip(column_ids, row_values[position], strict=True))
            columns[external_id] = record_uuid
            name = _row_name(position, item_parts, knobs.item_name)
            group = _row_name(position, group_parts, knobs.group_name)
            if position in size_errors:
                raise size_errors[position]
            row = hash_rows[position]
            parts = (
                *row[:external_slot],
                external_prefix + encode_basestring(record_uuid),
                *row[external_slot:],
            )
            blob = '{"c": {' + ", ".join(parts) + '}, "n": ' + encode_basestring(name) + "}"
            digest = hashlib.sha256(blob.encode("utf-8")).hexdigest()
            payloads[record_uuid] = LinePayload(
                record_uuid, customer, name, group, columns, sizes[position] or {}, digest, parts
            )
        except FormatError as exc:
            raw = {c.order_list_column: column(c.order_list_column)[position] for c in config.item_columns}
            failures[record_uuid] = LineFailure(
                record_uuid,
                exc.code,
                exc.message,
                payload={k: (None if is_blank(v) else str(v)) for k, v in raw.items()},
            )
    return payloads, failures


def maybe_box_native(value: Any) -> Any:
    """What DataFrame.to_dict does to each object/extension cell: numpy scalars become Python ones."""
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value)
    if isinstance(value, np.timedelta64):
        return pd.Timedelta(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _masked_or_string(dtype: Any) -> bool:
    """pandas' nullable (Int64, Float64, boolean) and string dtypes: extension dtypes holding scalars."""
    return isinstance(dtype, pd.StringDtype) or (
        isinstance(dtype, pd.api.extensions.ExtensionDtype) and dtype.kind in "biuf"
    )


# Types `maybe_box_native` (what DataFrame.to_dict applies to object/extension cells) leaves as they are.
_NATIVE_TYPES = frozenset({str, float, int, bool, type(None), dt.date, dt.datetime, Decimal, pd.Timestamp})
# NA types that are blank after boxing (is_blank); other NA cells (Decimal/complex NaN) are formatted.
_BLANK_NA_TYPES = frozenset({type(None), float, type(pd.NA), type(pd.NaT)})
_CACHED_TYPES = frozenset({str, float, int})
# Types whose equal values format alike (unlike tz-aware datetimes); str / NaN columns mix str and float.
_TABLE_TYPES = frozenset({str, float, int, dt.date})


def _cells(series: pd.Series) -> list[Any]:
    """The values of one column as `DataFrame.to_dict("records")` gives them, as a list per row."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biufc":
        return series.to_numpy().tolist()  # Python scalars, like iterating the column
    if isinstance(dtype, np.dtype) and dtype.kind != "O":
        return list(series)  # datetime64 / timedelta64: Timestamp / Timedelta
    if _masked_or_string(dtype):
        raw = series.to_numpy(dtype=object).tolist()
    elif isinstance(dtype, np.dtype):
        raw = series.to_numpy().tolist()
    else:
        raw = list(series)
    return [v if type(v) in _NATIVE_TYPES else maybe_box_native(v) for v in raw]


def _size_quantities(
    lines: pd.DataFrame, sizes_present: list[str], count: int
) -> tuple[list[dict[str, int] | None], dict[int, FormatError]]:
    """Per row: size -> quantity > 0 (size order), and the first size that is not a whole number."""
    sizes: list[dict[str, int] | None] = [None] * count
    errors: dict[int, FormatError] = {}
    cache: dict[type, dict[Any, Any]] = {t: {} for t in _CACHED_TYPES}
    for size in sizes_present:
        series = lines[size]
        rows = _maybe_filled(series)
        if not rows.size:
            continue
        for position, value in zip(rows.tolist(), _cells(series.iloc[rows]), strict=True):
            if position in errors:
                continue
            quantity = _cached(cache, format_quantity, value)
            if type(quantity) is FormatError:
                errors[position] = FormatError(quantity.code, f"size {size}: {quantity.message}")
            elif quantity > 0:
                row = sizes[position]
                if row is None:
                    sizes[position] = {size: quantity}
                else:
                    row[size] = quantity
    return sizes, errors


def _maybe_filled(series: pd.Series) -> np.ndarray:
    """Row positions whose value may be non-blank; every other row is blank (quantity 0)."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biuc":
        return np.arange(len(series))
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return np.flatnonzero(~np.isnan(series.to_numpy()))
    missing = series.isna().to_numpy(copy=True)
    filled = ~missing
    if not (_masked_or_string(dtype) or dtype.kind in "mM"):
        # Object (or other) NA cells: None / NaN / NA / NaT are blank; a Decimal('NaN') is not.
        values = series.to_numpy(dtype=object)
        if isinstance(dtype, np.dtype):  # object: most NA cells are None, skip those cheaply
            missing &= ~np.equal(values, None)
        odd = np.flatnonzero(missing)
        if odd.size and not set(map(type, values[odd])) <= _BLANK_NA_TYPES:
            for position, value in zip(odd.tolist(), values[odd].tolist(), strict=True):
                filled[position] = not is_blank(maybe_box_native(value))
    return np.flatnonzero(filled)


def _cached(cache: dict[type, dict[Any, Any]], function: Callable[[Any], Any], value: Any) -> Any:
    """function(value), or the FormatError it raised; memoised for str / float / int values."""
    memo = cache.get(type(value))
    if memo is not None:
        try:
            return memo[value]
        except KeyError:
            pass
    try:
        result = function(value)
    except FormatError as exc:
        result = exc
    if memo is not None:
        memo[value] = result
    return result


def _format_column(
    values: list[Any], monday_type: str, long_text_max: int, prefix: str
) -> tuple[list[Any], list[str], dict[int, FormatError]]:
    """format_value over one column: API values (a fresh object per row), their hash fragments
    (`prefix` + JSON of the value) and the errors by row position."""
    blank = prefix + "null"
    _NULL_FRAGMENTS.add(blank)

    def encode(value: Any) -> tuple[Any, str]:
        if value is None or (type(value) is float and value != value):  # blank
            return None, blank
        try:
            result = format_value(monday_type, value, long_text_max=long_text_max)
        except FormatError as exc:
            return exc, blank
        if result is None:
            return None, blank
        return result, prefix + (encode_basestring(result) if type(result) is str else _JSON.encode(result))

    types = set(map(type, values))
    types.discard(type(None))
    copy = _COPY.get(monday_type)
    if types <= _TABLE_TYPES and not (int in types and float in types):
        # Equal values of these types format alike (ints and floats are not mixed: 1 == 1.0), so
        # each distinct value is formatted once and the rows look theirs up.
        # (NaN is not equal to itself: it misses the tables and gets the blank defaults.)
        table = {value: encode(value) for value in dict.fromkeys(values) if value == value}
        results = list(map({k: v[0] for k, v in table.items()}.get, values, repeat(None)))
        encoded = list(map({k: v[1] for k, v in table.items()}.get, values, repeat(blank)))
        outcomes = [r for r, _ in table.values()]
    else:
        pairs = list(map(encode, values))
        results = outcomes = [r for r, _ in pairs]
        encoded = [e for _, e in pairs]
        copy = None  # formatted per row: already fresh objects
    errors: dict[int, FormatError] = {}
    if any(type(r) is FormatError for r in outcomes):
        errors = {i: r for i, r in enumerate(results) if type(r) is FormatError}
        for position in errors:
            results[position] = None
    if copy is not None:
        results = [None if r is None else copy(r) for r in results]
    return results, encoded, errors


_MISSING = object()
# format_value's dict results, copied per row so that no two payloads share a mutable value.
_COPY: dict[str, Callable[[Any], Any]] = {
    "date": lambda r: {"date": r["date"]},
    "dropdown": lambda r: {"labels": list(r["labels"])},
    "long_text": lambda r: {"text": r["text"]},
    "status": lambda r: {"label": r["label"]},
}


def _text_column(values: list[Any]) -> list[Any]:
    """Per row: None when blank, else the value as name text (or the FormatError it raises)."""
    out: list[Any] = [None] * len(values)
    memos: dict[type, dict[Any, Any]] = {t: {} for t in _CACHED_TYPES}
    for position, value in enumerate(values):
        if value is None or (type(value) is float and value != value):  # blank
            continue
        memo = memos.get(type(value))
        result = _MISSING if memo is None else memo.get(value, _MISSING)
        if result is _MISSING:
            try:
                result = None if is_blank(value) else _as_text(value)
            except FormatError as exc:
                result = exc
            if memo is not None:
                memo[value] = result
        out[position] = result
    return out


def _row_name(position: int, parts: list[list[list[Any]]], rule: NameRule) -> str:
    """build_name for one row from the per-column texts of `_text_column`."""
    pieces: list[str] = []
    for candidates in parts:
        for texts in candidates:
            text = texts[position]
            if text is not None:
                if type(text) is FormatError:
                    raise FormatError(text.code, text.message)
                pieces.append(text)
                break
    name = rule.separator.join(p for p in pieces if p).strip()
    if not name:
        raise FormatError("EMPTY_NAME", f"no value in any of {rule.parts}")
    return name[: rule.max_chars].rstrip()
