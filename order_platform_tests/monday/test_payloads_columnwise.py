"""build_payloads formats column-wise; it must give exactly what formatting each row's values gives.

The reference below is the row-wise implementation it replaced (one `to_dict("records")` row at a
time). Payloads, item hashes (stored in MONDAY_LINE: a change would re-send every item) and failures
must be identical, value types included.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from order_platform.monday.formatting import (
    FormatError,
    build_name,
    format_quantity,
    format_value,
    is_blank,
)
from order_platform.monday.mapping import BoardConfig, size_columns
from order_platform.monday.payloads import LineFailure, LinePayload, build_payloads, gc_paused, item_hash
from order_platform.monday.state import plan_table, to_json
from order_platform.monday.sync import sync_customer


def reference_build_payloads(
    lines: pd.DataFrame, customer: str, config: BoardConfig
) -> tuple[dict[str, LinePayload], dict[str, LineFailure]]:
    knobs = config.sync
    id_source = knobs.external_id_column.source
    sizes_present = [c for c in size_columns() if c in lines.columns]
    wanted = {c.order_list_column for c in config.item_columns}
    wanted.update(col for part in knobs.item_name.parts + knobs.group_name.parts for col in part)
    needed = [c for c in dict.fromkeys([id_source, *wanted, *sizes_present]) if c in lines.columns]
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
            payloads[record_uuid] = _reference_line(row, record_uuid, customer, sizes_present, config)
        except FormatError as exc:
            raw = {c.order_list_column: row.get(c.order_list_column) for c in config.item_columns}
            payload = {k: (None if is_blank(v) else str(v)) for k, v in raw.items()}
            failures[record_uuid] = LineFailure(record_uuid, exc.code, exc.message, payload=payload)
    return payloads, failures


def _reference_line(
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


def typed(value: Any) -> Any:
    """A comparable form that also tells 1 from 1.0 from True and str from np.str_."""
    if isinstance(value, LinePayload | LineFailure):  # (column_json: build_payloads' encoding cache)
        return type(value).__name__, typed({k: v for k, v in vars(value).items() if k != "column_json"})
    if isinstance(value, dict):
        return "dict", [(typed(k), typed(v)) for k, v in value.items()]
    if isinstance(value, list | tuple):
        return type(value).__name__, [typed(v) for v in value]
    return type(value).__name__, repr(value)


def assert_same(
    frame: pd.DataFrame, config: BoardConfig
) -> tuple[dict[str, LinePayload], dict[str, LineFailure]]:
    payloads, failures = build_payloads(frame, "GREYSON", config)
    expected_payloads, expected_failures = reference_build_payloads(frame, "GREYSON", config)
    assert list(payloads) == list(expected_payloads)
    for uuid, payload in payloads.items():
        assert typed(payload) == typed(expected_payloads[uuid]), uuid
        assert payload.item_hash == expected_payloads[uuid].item_hash
        assert payload.create_values_json() == to_json(payload.create_values())
    assert typed(failures) == typed(expected_failures)
    return payloads, failures


SIZES = list(size_columns())
NA_VALUES = [None, np.nan, pd.NA, pd.NaT, float("nan"), "", "   "]


def messy_frame(count: int, seed: int = 11) -> pd.DataFrame:
    """Every size column of ORDER_LIST, a few filled per line in assorted types; assorted item values."""
    rng = random.Random(seed)
    base = dt.date(2025, 1, 1)
    rows: list[dict[str, Any]] = []
    for n in range(count):
        row: dict[str, Any] = {
            "record_uuid": f"uuid-{n:05d}",
            "AAG ORDER NUMBER": f"GRE-{n // 3:05d}",
            "PO NUMBER": rng.choice([f"PO{n % 40}", f" PO{n % 40} ", None]),
            "CUSTOMER ALT PO": rng.choice([None, "ALT 1", "  "]),
            "CUSTOMER NAME": rng.choice(["GREYSON", "GREYSON ", "GREYSON"]),
            "CUSTOMER SEASON": rng.choice(["FA26", None, np.nan, "  "]),
            "AAG SEASON": rng.choice(["2026 FALL", "2025 SPRING"]),
            "CUSTOMER STYLE": rng.choice([f"STY{n % 13}", None, 4711, 12.5]),
            "ALIAS/RELATED ITEM": rng.choice([None, None, "ALIAS 1", True]),
            "CUSTOMER COLOUR DESCRIPTION": rng.choice(["NAVY", "white ", None]),
            "ORDER TYPE": rng.choice(["RECEIVED", ["A", " ", "B"], ("C",), None]),
            "NOTES": rng.choice([None, "note", "x" * 2001, 3.0]),
            "ORDER DATE PO RECEIVED": rng.choice(
                [
                    base + dt.timedelta(days=n % 30),
                    dt.datetime(2025, 2, 3, 4, 5),
                    pd.Timestamp("2025-03-04 10:00"),
                    "2025-04-05",
                    " 2025-04-06 ",
                    None,
                    pd.NaT,
                    np.datetime64("2025-05-06"),
                ]
            ),
            "EX FACTORY DATE": base + dt.timedelta(days=n % 7),
            "CUSTOMER PRICE": rng.choice([12.5, 12.50, 0.1 + 0.2, -0.0, 1e-7, np.nan]),
            "DESIGN FEE": rng.choice(
                [Decimal("1.10"), Decimal("2"), "3.50", 4, np.int64(5), np.float64(6.25), None]
            ),
            "DISCOUNT": rng.choice([None, "TBC", "1"]) if n % 50 == 0 else None,
            "UNIT OF MEASURE": rng.choice(["EA", "PCS", None]),
            "HANDLING": rng.choice([1.0, 2, None, "h", 1, True, np.bool_(False)]),  # text: 1 vs True
            "DROP": rng.choice([1, True, "DROP 1", None, 0, False]),  # 1 == True, 0 == False
            "PATTERN ID": rng.choice([np.datetime64("2025-01-02"), "P1", np.int64(3), np.float64(2.5), None]),
        }
        for size in SIZES:
            row[size] = None
        for size in rng.sample(SIZES, k=rng.randint(0, 6)):
            row[size] = rng.choice(
                [rng.randint(1, 60), float(rng.randint(0, 60)), str(rng.randint(1, 9)), " 7 "]
            )
        rows.append(row)
    frame = pd.DataFrame(rows)
    # Mixed representations across the size block: float64 with NaN, Int64 with NA, text, object.
    for i, size in enumerate(SIZES):
        values = frame[size]
        if i % 4 == 0:
            frame[size] = values.map(lambda v: np.nan if isinstance(v, str) else v).astype(float)
        elif i % 4 == 1:
            whole = values.map(lambda v: None if isinstance(v, str) or pd.isna(v) else int(v))
            frame[size] = whole.astype("Int64")
        elif i % 4 == 2:
            frame[size] = values.map(lambda v: None if pd.isna(v) else str(v)).astype("str")
        else:
            frame[size] = values.astype(object)
    frame = frame.copy()  # de-fragmented
    frame["TOTAL QTY"] = pd.array([n if n % 5 else None for n in range(count)], dtype="Int64")
    frame["US DUTY RATE"] = 0.165
    frame["FREIGHT"] = pd.array([1.5 if n % 3 else None for n in range(count)], dtype="Float64")
    frame["DESTINATION"] = pd.Series([f"D{n % 4}" if n % 6 else None for n in range(count)], dtype="str")
    frame["FX CHARGE"] = np.arange(count, dtype="int64")
    return frame


def test_columnwise_payloads_match_row_wise_on_a_wide_messy_frame(config):
    frame = messy_frame(600)
    object_size = next(s for i, s in enumerate(SIZES) if i % 4 == 3)
    # NA-like and odd cells in an object size column: blanks are 0, the rest are formatted (or fail).
    for position, value in enumerate(
        [*NA_VALUES, Decimal("NaN"), Decimal("3"), np.float64(4.0), True, 1.5, "x"]
    ):
        frame.loc[position * 7, object_size] = value
    frame.loc[3, "record_uuid"] = None  # no line id
    frame.loc[4, "record_uuid"] = "  "
    frame.loc[5, "record_uuid"] = frame.loc[6, "record_uuid"]  # duplicate id
    frame.loc[9, ["ALIAS/RELATED ITEM", "CUSTOMER STYLE"]] = [None, float("inf")]  # name part fails
    frame.loc[10, ["CUSTOMER STYLE", "CUSTOMER COLOUR DESCRIPTION", "AAG ORDER NUMBER", "PO NUMBER"]] = None
    frame.loc[10, ["ALIAS/RELATED ITEM", "CUSTOMER ALT PO"]] = None  # empty item name
    frame.loc[12, ["NOTES", "DISCOUNT"]] = ["x" * 2001, "TBC"]  # two bad columns: the first one counts
    frame.loc[10, "CUSTOMER'S COLOUR CODE (CUSTOM FIELD) CUSTOMER PROVIDES THIS"] = None  # (not in the frame)
    payloads, failures = assert_same(frame, config)
    codes = {f.code for f in failures.values()}
    assert {"MISSING_LINE_ID", "DUPLICATE_LINE_ID", "BAD_QUANTITY", "NOT_A_NUMBER", "TEXT_TOO_LONG"} <= codes
    assert "EMPTY_NAME" in codes and "NOT_A_DATE" not in codes
    assert len(payloads) > 300 and any(len(p.sizes) >= 4 for p in payloads.values())
    # Every payload has its own column values (cached formatting must not share mutable objects).
    seen: set[int] = set()
    for payload in payloads.values():
        for value in payload.columns.values():
            if isinstance(value, dict):
                assert id(value) not in seen
                seen.add(id(value))


def test_columnwise_payloads_match_on_sample_lines_and_edge_frames(config):
    from order_platform.stand_ins.sample_lines import make_lines

    assert_same(make_lines(200), config)
    assert_same(make_lines(5).iloc[:0], config)
    lines = make_lines(20)
    lines["NOTES"] = pd.Series([None] * 20, dtype=object)
    lines["XS"] = pd.array([1.5 if n == 3 else n for n in range(20)], dtype="Float64")  # fraction fails
    lines["32x30"] = [Decimal("NaN") if n == 4 else None for n in range(20)]  # not blank: fails
    lines["S"] = pd.Categorical([str(n % 3) if n % 2 else None for n in range(20)])
    lines["34x32"] = np.arange(20) % 2 == 0  # booleans are not quantities
    _, failures = assert_same(lines, config)
    assert {f.code for f in failures.values()} == {"BAD_QUANTITY"}
    numbered = make_lines(30)
    numbered["record_uuid"] = np.arange(30, dtype="int64") // 2 * 1.5  # float ids, duplicates
    assert_same(numbered, config)
    doubled = pd.concat([make_lines(10), make_lines(10, seed=3)[["CUSTOMER STYLE"]]], axis=1)
    with pytest.warns(UserWarning, match="not unique"):  # (the row-wise reference warns)
        assert_same(doubled, config)  # duplicate column label: the last one counts, as in a row dict


def test_gc_paused_restores_the_collector():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_dry_run_stores_each_planned_row_as_to_json_would(config, engine):
    frame = messy_frame(300, seed=5)
    result = sync_customer(engine, "GREYSON", frame, None, config=config)
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.select(plan_table.c.record_uuid, plan_table.c.payload)).all())
    planned = [row for row in result.plan if row["action"] != "unchanged"]
    assert {row["action"] for row in planned} == {"create", "failed"}
    assert stored == {row["record_uuid"]: to_json(row) for row in planned}


def _decimal_route(value: float) -> str:
    """format_number for floats before its fast path: via Decimal(repr(value))."""
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def test_float_numbers_format_as_through_decimal():
    rng = random.Random(3)
    values = [0.0, -0.0, 1.0, 10.0, 100.0, 0.1, 0.165, 1e-7, 1e16, 1e22, 123456789.125, -5e-324, 2.0**60]
    values += [rng.uniform(-1e6, 1e6) for _ in range(2000)] + [
        round(rng.uniform(0, 100), 2) for _ in range(2000)
    ]
    values += [rng.random() * 10.0 ** rng.randint(-30, 30) for _ in range(2000)]
    for value in values:
        assert format_value("numbers", value) == _decimal_route(value), repr(value)
