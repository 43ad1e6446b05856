"""Column-wise conversion of an ORDER_LIST frame for the payload builder.

Each column is converted once to the values `DataFrame.to_dict("records")` would give per row
(`cells`), formatted with a per-distinct-value table, and only the non-blank cells of the size block
are looked at. A value that cannot be formatted becomes a blank cell plus an issue; formula-like text
is neutralised and noted (formatting.py's rules).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from itertools import repeat
from json.encoder import encode_basestring
from typing import Any

import numpy as np
import pandas as pd

from order_platform.monday.plan.formatting import (
    FormatError,
    _as_text,
    format_quantity,
    format_raw,
    is_blank,
    is_formula_like,
    neutralise_value,
)

# item_hash's json.dumps options: a value encodes the same alone as nested (no indent), so the blob can
# be assembled from per-value fragments (the payload builder caches them per distinct source value).
JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str)
NULL_FRAGMENTS: set[str] = set()  # the '"column id": null' fragments format_column has made


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


def cells(series: pd.Series) -> list[Any]:
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


def frame_size_cells(lines: pd.DataFrame, sizes_present: list[str]) -> Iterator[tuple[int, str, Any]]:
    """(row position, size, value) of every size cell of the frame that may be filled, size by size."""
    for size in sizes_present:
        series = lines[size]
        rows = maybe_filled(series)
        if rows.size:
            yield from zip(rows.tolist(), repeat(size), cells(series.iloc[rows]), strict=False)


def size_quantities(
    size_cells: Iterable[tuple[int, str, Any]], count: int
) -> tuple[list[dict[str, int] | None], list[tuple[int, str, Any, FormatError]]]:
    """Per row: size -> quantity > 0 (in the order the cells come); and every size cell that is not a
    whole number (position, size, value, error): that size gets no subitem, the line goes on."""
    sizes: list[dict[str, int] | None] = [None] * count
    errors: list[tuple[int, str, Any, FormatError]] = []
    cache: dict[type, dict[Any, Any]] = {t: {} for t in _CACHED_TYPES}
    for position, size, value in size_cells:
        quantity = cached(cache, format_quantity, value)
        if type(quantity) is FormatError:
            errors.append((position, size, value, quantity))
        elif quantity > 0:
            row = sizes[position]
            if row is None:
                sizes[position] = {size: quantity}
            else:
                row[size] = quantity
    return sizes, errors


def maybe_filled(series: pd.Series) -> np.ndarray:
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
            # numpy compares object cells with None elementwise; its stubs type the operand as a number.
            missing &= ~np.equal(values, None)  # type: ignore[call-overload]
        odd = np.flatnonzero(missing)
        if odd.size and not set(map(type, values[odd])) <= _BLANK_NA_TYPES:
            for position, value in zip(odd.tolist(), values[odd].tolist(), strict=True):
                filled[position] = not is_blank(maybe_box_native(value))
    return np.flatnonzero(filled)


def cached(cache: dict[type, dict[Any, Any]], function: Callable[[Any], Any], value: Any) -> Any:
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


def format_column(
    values: list[Any], monday_type: str, long_text_max: int, prefix: str
) -> tuple[list[Any], list[str], dict[int, FormatError], list[int]]:
    """format_value over one column: API values (rows with equal source values share one value object:
    read-only, like everything in a LinePayload), their hash fragments
    (`prefix` + JSON of the value), the errors by row position (those cells are blank) and the
    positions whose text was neutralised (formula-like)."""
    blank = prefix + "null"
    NULL_FRAGMENTS.add(blank)

    wrap = _WRAP.get(monday_type)

    def encode(value: Any) -> tuple[Any, str, bool]:
        if value is None or (type(value) is float and value != value):  # blank
            return None, blank, False
        if type(value) is str and wrap is not None:  # text into a text-like column: inline
            text = value.strip()
            if not text:
                return None, blank, False
            if len(text) > long_text_max and monday_type == "long_text":
                return (
                    FormatError("TEXT_TOO_LONG", f"long text of {len(text)} chars exceeds {long_text_max}"),
                    blank,
                    False,
                )
            neutralised = is_formula_like(text)
            if neutralised:
                text = "'" + text
            head, tail, make = wrap
            return make(text), prefix + head + encode_basestring(text) + tail, neutralised
        try:
            result = format_raw(monday_type, value, long_text_max=long_text_max)
        except FormatError as exc:
            return exc, blank, False
        if result is None:
            return None, blank, False
        result, neutralised = neutralise_value(monday_type, result)
        text = encode_basestring(result) if type(result) is str else JSON.encode(result)
        return result, prefix + text, neutralised

    types = set(map(type, values))
    types.discard(type(None))
    if monday_type == "numbers" and types <= {float, int}:
        return _number_column(values, prefix, blank, encode)
    if types <= _TABLE_TYPES and not (int in types and float in types):
        # Equal values of these types format alike (ints and floats are not mixed: 1 == 1.0), so
        # each distinct value is formatted once and the rows look theirs up.
        # (NaN is not equal to itself: it misses the tables and gets the blank defaults.)
        table = {value: encode(value) for value in dict.fromkeys(values) if value == value}
        results = list(map({k: v[0] for k, v in table.items()}.get, values, repeat(None)))
        encoded = list(map({k: v[1] for k, v in table.items()}.get, values, repeat(blank)))
        outcomes = [r for r, _, _ in table.values()]
        flagged = {k for k, v in table.items() if v[2]}
        neutralised = [i for i, v in enumerate(values) if v in flagged] if flagged else []
    else:
        triples = list(map(encode, values))
        results = outcomes = [r for r, _, _ in triples]
        encoded = [e for _, e, _ in triples]
        neutralised = [i for i, t in enumerate(triples) if t[2]]
    errors: dict[int, FormatError] = {}
    if any(type(r) is FormatError for r in outcomes):
        errors = {i: r for i, r in enumerate(results) if type(r) is FormatError}
        for position in errors:
            results[position] = None
    return results, encoded, errors, neutralised


def _number_column(
    values: list[Any], prefix: str, blank: str, encode: Callable[[Any], tuple[Any, str, bool]]
) -> tuple[list[Any], list[str], dict[int, FormatError], list[int]]:
    """format_column of a numbers column holding floats and ints only: format_number's digits, inline
    (a plain repr without exponent is what formatting through Decimal gives; the rest goes the long way)."""
    results: list[Any] = list(map(_plain_number, values))
    errors: dict[int, FormatError] = {}
    encoded = [blank if t is None or t is _SLOW else prefix + '"' + t + '"' for t in results]
    if _SLOW in results:
        for position, text in enumerate(results):
            if text is _SLOW:
                result, encoded[position], _ = encode(values[position])
                if type(result) is FormatError:
                    errors[position], result = result, None
                results[position] = result
    return results, encoded, errors, []


_SLOW = object()  # a number _plain_number leaves to format_number (exponent, inf)


def _plain_number(value: Any) -> Any:
    if value is None or value != value:  # blank (NaN)
        return None
    text = repr(value)
    if type(value) is float:
        if "e" in text or "n" in text:
            return _SLOW
        text = text.rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return text


# Text-like column types: the JSON around the text, and the API value built from the text.
_WRAP: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "text": ("", "", lambda t: t),
    "long_text": ('{"text": ', "}", lambda t: {"text": t}),
    "dropdown": ('{"labels": [', "]}", lambda t: {"labels": [t]}),
    "status": ('{"label": ', "}", lambda t: {"label": t}),
}

_MISSING = object()


def text_column(values: list[Any]) -> list[Any]:
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
