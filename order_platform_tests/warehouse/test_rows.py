"""Frames as driver rows (warehouse/writes/rows.py): None for every missing value, ISO text for SQLite
dates, plain Python values, and the named columns only, in the order asked for."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from order_platform.warehouse.writes.rows import frame_rows, iter_frame_rows


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "text": pd.Series(["a", None], dtype=object),
            "qty": pd.Series([3, None], dtype="Int64"),
            "price": [1.25, np.nan],
            "day": pd.to_datetime(["2024-03-25", None]),
            "row": np.array([7, 8], dtype="int64"),
            "label": pd.Series(["x", None], dtype="str"),
        }
    )


def test_sqlite_rows() -> None:
    rows = frame_rows(_frame(), "sqlite")
    assert rows[0] == ("a", 3, 1.25, "2024-03-25", 7, "x")
    assert rows[1][:5] == (None, None, None, None, 8)
    assert rows[1][5] is None or rows[1][5] != rows[1][5]  # SQLite stores a NaN as NULL
    assert [type(v) for v in rows[0]] == [str, int, float, str, int, str]


def test_sql_server_rows() -> None:
    rows = frame_rows(_frame(), "mssql")
    assert rows[0] == ("a", 3, 1.25, dt.date(2024, 3, 25), 7, "x")
    assert rows[1] == (None, None, None, None, 8, None)
    assert type(rows[0][3]) is dt.date and type(rows[0][4]) is int  # never numpy scalars


def test_named_columns_in_the_order_asked_for() -> None:
    frame = _frame()
    assert list(iter_frame_rows(frame, "sqlite", ["row", "text"])) == [(7, "a"), (8, None)]
    assert frame_rows(frame, "sqlite", []) == []
    assert frame_rows(frame.iloc[:0], "mssql") == []
