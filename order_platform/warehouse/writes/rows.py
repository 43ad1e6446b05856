"""Data frames as driver-ready rows: None for missing values, ISO text for SQLite dates.

Conversions go through numpy in bulk; a per-value Python loop here costs seconds per load.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

_OBJECT = np.dtype(object)


def _column_values(series: pd.Series, dialect: str) -> list:
    """A column as driver-ready Python values: None for missing, ISO text for SQLite dates.

    Plain object columns (all raw text, most staging columns) are looked at first: pandas' dtype
    predicates cost microseconds per call, paid on each of ~100 columns of every table.
    """
    dtype = series.dtype
    if dtype == _OBJECT:
        return _cells(series, dialect)
    if series.empty:
        return []
    if dtype.kind == "M":  # datetime64, with or without a time zone
        days = series.to_numpy(dtype="datetime64[D]")
        present = ~np.isnat(days)
        values = np.full(len(days), None, dtype=object)
        if present.any():  # a column holds few distinct dates: convert each once
            distinct, position = np.unique(days[present], return_inverse=True)
            values[present] = (distinct.astype(str) if dialect == "sqlite" else distinct).astype(object)[position]
        return values.tolist()
    if isinstance(dtype, pd.Int64Dtype):
        # pandas accepts na_value=None (its documented use); pandas-stubs' Scalar type leaves None out.
        return series.to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[call-overload]
    if pd.api.types.is_float_dtype(dtype):
        floats = series.to_numpy()
        values = floats.astype(object)
        values[np.isnan(floats)] = None
        return values.tolist()
    if pd.api.types.is_integer_dtype(dtype):
        return series.tolist()
    return _cells(series, dialect)


def _cells(series: pd.Series, dialect: str) -> list:
    cells = series.tolist()
    if dialect == "sqlite":
        return cells  # SQLite stores a NaN as NULL; the transform's text columns hold None anyway
    if int(pd.isna(series.to_numpy()).sum()) != cells.count(None):  # some missing values are NaN, not None
        return [None if v is None or v != v else v for v in cells]
    return cells


def frame_columns(frame: pd.DataFrame, dialect: str, columns: Iterable[str]) -> list[list]:
    """The named columns as lists of driver-ready values."""
    return [_column_values(frame[c], dialect) for c in columns]


def iter_frame_rows(frame: pd.DataFrame, dialect: str, columns: Sequence[str] | None = None) -> Iterator[tuple]:
    """Rows as tuples of `columns` (default: all, in the frame's order), made one at a time (a list of
    100,000 wide tuples costs a second to build). Columns are taken by name: no copy of the frame."""
    return zip(*frame_columns(frame, dialect, frame.columns if columns is None else columns), strict=True)


def frame_rows(frame: pd.DataFrame, dialect: str, columns: Sequence[str] | None = None) -> list[tuple]:
    return list(iter_frame_rows(frame, dialect, columns))  # no columns: no rows
