"""The fast paths give the same answers as the plain definitions they replace."""

import uuid

from order_platform.ingest.workbook import _float_text, column_text
from order_platform.staging.casting import _needs_strip
from order_platform.staging.identity import LINE_ID_NAMESPACE, _uuid5


def test_uuid5_matches_uuid_module() -> None:
    for name in ["", "A\x1fB\x1e0", "GREYSON\x1e12345\x1fSEA\x1f\x1f\x1f\x1f\x1e3", "é😀 x" * 7]:
        assert _uuid5(name) == str(uuid.uuid5(LINE_ID_NAMESPACE, name))


def test_numeric_column_text_matches_float_text() -> None:
    values = ["", 1.0, -0.0, 2.5, 1e16, 2.0**53, -(2.0**53) + 1, float("nan"), float("inf"), 0.1 + 0.2, ""]
    assert column_text(values) == [None if v == "" else _float_text(v) for v in values]


def test_needs_strip_sees_edge_space_only() -> None:
    assert not _needs_strip(["A B", None, "C"])
    assert _needs_strip(["A", " B"])
    assert _needs_strip(["A\t", "B"])
    assert _needs_strip(["A", "B\u00a0"])
    assert not _needs_strip([])


def test_preview_shows_first_rows_as_text_and_skips_empty_columns() -> None:
    import pandas as pd

    from order_platform.load.report import PREVIEW_ROWS, _preview

    frame = pd.DataFrame(
        {
            "STYLE": pd.array(["A", None, "C", "D", "E", "F", "G"], dtype="string"),
            "QTY": pd.array([1, None, 3, 4, 5, 6, 7], dtype="Int64"),
            "EMPTY": [None] * 7,
            "DATE": pd.to_datetime(["2026-01-02", None, None, None, None, None, None]),
            "LATE": [None] * 6 + ["only after the preview rows"],
        }
    )
    preview = _preview(frame)
    assert len(preview) == PREVIEW_ROWS
    assert preview[0] == {"STYLE": "A", "QTY": "1", "DATE": "2026-01-02"}  # a date, without a midnight time
    assert preview[1] == {"STYLE": None, "QTY": None, "DATE": None}


def test_column_text_equals_cell_text_on_every_kind_of_column() -> None:
    from datetime import date, datetime, time, timedelta

    from order_platform.ingest.workbook import cell_text

    columns = [
        ["A", "", " ", "B ", "\xa0"],
        ["", 1.0, 2.5, "", 2.0**60],
        ["", date(2025, 3, 1), ""],
        ["", 1.0, "x", " ", date(2025, 3, 1), datetime(2025, 3, 1, 10, 30), True, time(8), timedelta(days=1), 7],
        ["", ""],
    ]
    for values in columns:
        assert column_text(values) == [cell_text(v) for v in values]
        assert column_text(tuple(values)) == [cell_text(v) for v in values]
