"""build_payloads formats column-wise; it must give exactly what formatting each row's values gives.

The reference below is the row-wise implementation it replaced (one `to_dict("records")` row at a
time). Payloads, item hashes (stored in MONDAY_LINE: a change would re-send every item) and failures
must be identical, value types included.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from order_platform.monday.mapping import BoardConfig, size_columns
from order_platform.monday.plan.formatting import (
    NEUTRALISED,
    FormatError,
    _as_text,
    format_quantity,
    format_raw,
    format_value,
    is_blank,
    is_formula_like,
    neutralise,
)
from order_platform.monday.plan.payloads import (
    _NEUTRAL,
    GROUP_NAME,
    ITEM_NAME,
    CellIssue,
    LineFailure,
    LinePayload,
    Payloads,
    build_payloads,
    item_hash,
)
from order_platform.monday.state.sync_state import plan_table, to_json
from order_platform.monday.sync import sync_customer


def reference_build_payloads(lines: pd.DataFrame, customer: str, config: BoardConfig) -> Payloads:
    knobs = config.sync
    id_source = knobs.external_id_column.source
    sizes_present = [c for c in size_columns() if c in lines.columns]
    wanted = {c.order_list_column for c in config.item_columns}
    wanted.update(col for part in knobs.item_name.parts + knobs.group_name.parts for col in part)
    needed = [c for c in dict.fromkeys([id_source, *wanted, *sizes_present]) if c in lines.columns]
    out = Payloads({}, {}, [])
    for position, row in enumerate(lines[needed].to_dict("records")):
        raw_id = row.get(id_source)
        if is_blank(raw_id):
            key = f"<row {position} without {id_source}>"
            out.failures[key] = LineFailure(key, "MISSING_LINE_ID", f"row {position} has no {id_source}")
            continue
        record_uuid = str(raw_id).strip()
        if record_uuid in out.lines or record_uuid in out.failures:
            out.failures[record_uuid] = LineFailure(
                record_uuid, "DUPLICATE_LINE_ID", f"{id_source} {record_uuid} appears more than once"
            )
            out.lines.pop(record_uuid, None)
            continue
        out.lines[record_uuid], issues = _reference_line(row, record_uuid, customer, sizes_present, config)
        out.issues += issues
    out.issues = [i for i in out.issues if i.record_uuid in out.lines]
    return out


def _name(row: dict[str, Any], rule: Any) -> str | None:
    pieces = []
    for candidates in rule.parts:
        for column in candidates:
            value = row.get(column)
            if not is_blank(value):
                try:
                    pieces.append(_as_text(value))
                except FormatError:
                    continue
                break
    name = rule.separator.join(p for p in pieces if p).strip()
    return name[: rule.max_chars].rstrip() if name else None


def _reference_line(
    row: dict[str, Any], record_uuid: str, customer: str, sizes_present: list[str], config: BoardConfig
) -> tuple[LinePayload, list[CellIssue]]:
    knobs = config.sync
    columns: dict[str, Any] = {}
    issues: list[CellIssue] = []
    for column in config.item_columns:
        value = row.get(column.order_list_column)
        try:
            raw = format_raw(column.monday_type, value, long_text_max=knobs.long_text_max_chars)
        except FormatError as exc:
            columns[column.monday_column_id] = None
            reason = f"not a {column.monday_type} value, cell cleared: {exc.message}"
            issues.append(
                CellIssue(
                    record_uuid, column.order_list_column, column.monday_column_id, str(value)[:200], exc.code, reason
                )
            )
            continue
        formatted = format_value(column.monday_type, value, long_text_max=knobs.long_text_max_chars)
        columns[column.monday_column_id] = formatted
        if formatted != raw:
            issues.append(
                CellIssue(
                    record_uuid,
                    column.order_list_column,
                    column.monday_column_id,
                    str(value)[:200],
                    NEUTRALISED,
                    _NEUTRAL,
                )
            )
    columns[knobs.external_id_column.monday_column_id] = record_uuid
    sizes: dict[str, int] = {}
    size_issues: list[CellIssue] = []
    for size in sizes_present:
        try:
            quantity = format_quantity(row.get(size))
        except FormatError as exc:
            reason = f"no subitem for this size: {exc.message}"
            size_issues.append(CellIssue(record_uuid, size, "", str(row.get(size))[:200], exc.code, reason))
            continue
        if quantity > 0:
            sizes[size] = quantity
    by_size = {s: i for i, s in enumerate(sizes_present)}
    issues += sorted(size_issues, key=lambda i: by_size[i.column])
    name = _name(row, knobs.item_name)
    if name is None:
        name = f"(no name) {record_uuid}"
        reason = f"no value in any of {knobs.item_name.parts}"
        issues.append(CellIssue(record_uuid, ITEM_NAME, "name", "", "EMPTY_NAME", reason))
    elif is_formula_like(name):
        issues.append(CellIssue(record_uuid, ITEM_NAME, "name", name, NEUTRALISED, _NEUTRAL))
        name = neutralise(name)[: knobs.item_name.max_chars]
    group = _name(row, knobs.group_name) or neutralise(customer)
    if is_formula_like(group):
        issues.append(CellIssue(record_uuid, GROUP_NAME, "group", group, NEUTRALISED, _NEUTRAL))
        group = neutralise(group)[: knobs.group_name.max_chars]
    sizes = {s: sizes[s] for s in sizes_present if s in sizes}
    return LinePayload(record_uuid, customer, name, group, columns, sizes, item_hash(name, columns)), issues


def typed(value: Any) -> Any:
    """A comparable form that also tells 1 from 1.0 from True and str from np.str_."""
    if isinstance(value, LinePayload | LineFailure):  # (column_json: build_payloads' encoding cache)
        hidden = ("column_json", "item_hash")  # (the hash: compared through digest())
        return type(value).__name__, typed({k: v for k, v in vars(value).items() if k not in hidden})
    if isinstance(value, dict):
        return "dict", [(typed(k), typed(v)) for k, v in value.items()]
    if isinstance(value, list | tuple):
        return type(value).__name__, [typed(v) for v in value]
    return type(value).__name__, repr(value)


def assert_same(frame: pd.DataFrame, config: BoardConfig) -> Payloads:
    built = build_payloads(frame, "GREYSON", config)
    expected = reference_build_payloads(frame, "GREYSON", config)
    payloads, failures, expected_payloads, expected_failures = (
        built.lines,
        built.failures,
        expected.lines,
        expected.failures,
    )
    assert list(payloads) == list(expected_payloads)
    for uuid, payload in payloads.items():
        assert typed(payload) == typed(expected_payloads[uuid]), uuid
        assert payload.digest() == expected_payloads[uuid].item_hash
        assert payload.create_values_json() == to_json(payload.create_values())
    assert typed(failures) == typed(expected_failures)
    by_line = lambda issues: sorted((i.record_uuid, i.column, i.code, i.value) for i in issues)  # noqa: E731
    assert by_line(built.issues) == by_line(expected.issues)
    return built


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
            "DESIGN FEE": rng.choice([Decimal("1.10"), Decimal("2"), "3.50", 4, np.int64(5), np.float64(6.25), None]),
            "DISCOUNT": rng.choice([None, "TBC", "1"]) if n % 50 == 0 else None,
            "UNIT OF MEASURE": rng.choice(["EA", "PCS", None]),
            "HANDLING": rng.choice([1.0, 2, None, "h", 1, True, np.bool_(False)]),  # text: 1 vs True
            "DROP": rng.choice([1, True, "DROP 1", None, 0, False]),  # 1 == True, 0 == False
            "PATTERN ID": rng.choice([np.datetime64("2025-01-02"), "P1", np.int64(3), np.float64(2.5), None]),
        }
        for size in SIZES:
            row[size] = None
        for size in rng.sample(SIZES, k=rng.randint(0, 6)):
            row[size] = rng.choice([rng.randint(1, 60), float(rng.randint(0, 60)), str(rng.randint(1, 9)), " 7 "])
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
    for position, value in enumerate([*NA_VALUES, Decimal("NaN"), Decimal("3"), np.float64(4.0), True, 1.5, "x"]):
        frame.loc[position * 7, object_size] = value
    frame.loc[3, "record_uuid"] = None  # no line id
    frame.loc[4, "record_uuid"] = "  "
    frame.loc[5, "record_uuid"] = frame.loc[6, "record_uuid"]  # duplicate id
    frame.loc[9, ["ALIAS/RELATED ITEM", "CUSTOMER STYLE"]] = [None, float("inf")]  # name part fails
    frame.loc[10, ["CUSTOMER STYLE", "CUSTOMER COLOUR DESCRIPTION", "AAG ORDER NUMBER", "PO NUMBER"]] = None
    frame.loc[10, ["ALIAS/RELATED ITEM", "CUSTOMER ALT PO"]] = None  # empty item name
    frame.loc[12, ["NOTES", "DISCOUNT"]] = ["x" * 2001, "TBC"]  # two bad columns: the first one counts
    frame.loc[10, "CUSTOMER'S COLOUR CODE (CUSTOM FIELD) CUSTOMER PROVIDES THIS"] = None  # (not in the frame)
    built = assert_same(frame, config)
    payloads = built.lines
    assert {f.code for f in built.failures.values()} == {"MISSING_LINE_ID", "DUPLICATE_LINE_ID"}
    codes = {i.code for i in built.issues}
    assert {"BAD_QUANTITY", "NOT_A_NUMBER", "TEXT_TOO_LONG", "EMPTY_NAME"} <= codes
    assert len(payloads) > 300 and any(len(p.sizes) >= 4 for p in payloads.values())
    # Equal source values share one formatted value (read-only): building again gives equal payloads.
    again = build_payloads(frame, "GREYSON", config)
    assert [typed(p) for p in again.lines.values()] == [typed(p) for p in payloads.values()]


def test_columnwise_payloads_match_on_sample_lines_and_edge_frames(config):
    from stand_ins.sample_lines import make_lines

    assert_same(make_lines(200), config)
    assert_same(make_lines(5).iloc[:0], config)
    lines = make_lines(20)
    lines["NOTES"] = pd.Series([None] * 20, dtype=object)
    lines["XS"] = pd.array([1.5 if n == 3 else n for n in range(20)], dtype="Float64")  # fraction fails
    lines["32x30"] = [Decimal("NaN") if n == 4 else None for n in range(20)]  # not blank: fails
    lines["S"] = pd.Categorical([str(n % 3) if n % 2 else None for n in range(20)])
    lines["34x32"] = np.arange(20) % 2 == 0  # booleans are not quantities
    built = assert_same(lines, config)
    assert not built.failures and {i.code for i in built.issues} == {"BAD_QUANTITY"}
    numbered = make_lines(30)
    numbered["record_uuid"] = np.arange(30, dtype="int64") // 2 * 1.5  # float ids, duplicates
    assert_same(numbered, config)
    doubled = pd.concat([make_lines(10), make_lines(10, seed=3)[["CUSTOMER STYLE"]]], axis=1)
    with pytest.warns(UserWarning, match="not unique"):  # (the row-wise reference warns)
        assert_same(doubled, config)  # duplicate column label: the last one counts, as in a row dict


def test_dry_run_stores_each_planned_row_as_to_json_would(config, engine):
    frame = messy_frame(300, seed=5)
    result = sync_customer(engine, "GREYSON", frame, None, config=config.with_scope())  # every line
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.select(plan_table.c.record_uuid, plan_table.c.payload)).all())
    planned = [row for row in result.plan if row["action"] != "unchanged"]
    assert len(planned) == len(result.plan) == 100  # the result keeps the first rows; MONDAY_PLAN has all
    assert len(stored) == result.lines
    with engine.connect() as conn:
        actions = set(conn.execute(sa.select(plan_table.c.action)).scalars())
    assert actions == {"create"}  # (no line without a usable id in this frame)
    for row in planned:
        assert stored[row["record_uuid"]] == to_json(row)


def _decimal_route(value: float) -> str:
    """format_number for floats before its fast path: via Decimal(repr(value))."""
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def test_float_numbers_format_as_through_decimal():
    rng = random.Random(3)
    values = [0.0, -0.0, 1.0, 10.0, 100.0, 0.1, 0.165, 1e-7, 1e16, 1e22, 123456789.125, -5e-324, 2.0**60]
    values += [rng.uniform(-1e6, 1e6) for _ in range(2000)] + [round(rng.uniform(0, 100), 2) for _ in range(2000)]
    values += [rng.random() * 10.0 ** rng.randint(-30, 30) for _ in range(2000)]
    for value in values:
        assert format_value("numbers", value) == _decimal_route(value), repr(value)
