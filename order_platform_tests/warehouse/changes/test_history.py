"""ORDER_LIST_CHANGES on real workbooks and a real SQLite database: exactly the edits, nothing else."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from order_platform.warehouse.tables import CHANGES
from order_platform.workers.runner import run_customers
from order_platform_tests.workbooks import BASIC_HEADERS, line, workbook_name, write_workbook


def rows(**edits: object) -> list[dict]:
    lines = [
        line("GRE-1", "ST1"),
        line("GRE-2", "ST2"),
        line("GRE-3", "ST3"),
        line("GRE-4", "ST4"),
    ]
    return lines


def load(platform, customers=("GREYSON",), force=True):
    return {r.customer: r for r in run_customers(platform.spec, list(customers), force=force)}


def changes(platform) -> pd.DataFrame:
    with platform.pipeline.store.engine.connect() as conn:
        return pd.read_sql(sa.text(f"SELECT * FROM {CHANGES} ORDER BY id"), conn)


def write(platform, lines: list[dict], customer: str = "GREYSON") -> None:
    write_workbook(platform.source / workbook_name(customer), lines)


def test_baseline_and_unchanged_reload_record_nothing(platform):
    write(platform, rows())
    first = load(platform)["GREYSON"]
    assert first.ok, first.error
    assert first.change_counts["baseline"] is True
    assert changes(platform).empty
    again = load(platform)["GREYSON"]  # forced: read, staged and published again
    assert again.status == "published"
    assert again.change_counts == {
        "baseline": False,
        "added": 0,
        "removed": 0,
        "changed_lines": 0,
        "changed_cells": 0,
    }
    assert changes(platform).empty


def test_exactly_the_edits_are_recorded_with_old_and_new_values(platform):
    write(platform, [line("GRE-1", "ST1"), line("GRE-2", "ST2"), line("GRE-3", "ST3"), line("GRE-4", "ST4")])
    write(platform, [line("OTH-1", "X1", **{"CUSTOMER NAME": "TITLE 9"})], customer="TITLE 9")
    assert all(r.ok for r in load(platform, ("GREYSON", "TITLE NINE")).values())
    edited = [
        line("GRE-1", "ST1", m=25, total=35),  # a size quantity (and its total)
        line("GRE-3", "ST3", **{"EX FACTORY DATE": "2025-04-15", "CUSTOMER PRICE": 13.75}),  # date, price
        line("GRE-4", "ST4"),  # unchanged, one row higher: GRE-2 was deleted above it
        line("GRE-5", "ST5"),  # new
    ]
    write(platform, edited)
    report = load(platform)["GREYSON"]
    assert report.ok, report.error
    found = changes(platform)
    assert set(found["customer"]) == {"GREYSON"}  # nothing for the untouched customer
    cells = {
        (r.customer_style, r.column_name): (r.old_value, r.new_value)
        for r in found.itertuples()
        if r.change_kind == "changed"
    }
    assert cells == {
        ("ST1", "M"): ("20", "25"),
        ("ST1", "TOTAL QTY"): ("30", "35"),
        ("ST3", "EX FACTORY DATE"): ("2025-03-01", "2025-04-15"),
        ("ST3", "CUSTOMER PRICE"): ("12.5", "13.75"),
    }
    lines = {(r.change_kind, r.customer_style) for r in found.itertuples() if r.change_kind != "changed"}
    assert lines == {("removed", "ST2"), ("added", "ST5")}
    assert report.change_counts == {
        "baseline": False,
        "added": 1,
        "removed": 1,
        "changed_lines": 2,
        "changed_cells": 4,
    }
    assert set(found["load_id"]) == {report.layers["order_list"].details["load_id"]}
    # most significant first on the report: quantities, then dates, then prices, then lines
    first = report.layers["order_list"].details["first_changes"]
    assert [c["column_name"] for c in first[:4]] == ["M", "TOTAL QTY", "EX FACTORY DATE", "CUSTOMER PRICE"]
    removed = found[found["change_kind"] == "removed"].iloc[0]
    assert '"CUSTOMER STYLE": "ST2"' in removed["old_value"]  # the line as it was


def test_a_failed_load_in_between_changes_nothing(platform):
    write(platform, [line("GRE-1", "ST1")])
    assert load(platform)["GREYSON"].ok
    (platform.source / workbook_name("GREYSON")).write_bytes(b"not a workbook")
    assert not load(platform)["GREYSON"].ok
    write(platform, [line("GRE-1", "ST1", s=11, total=31)])
    assert load(platform)["GREYSON"].ok
    found = changes(platform)
    assert sorted(zip(found["column_name"], found["old_value"], found["new_value"], strict=True)) == [
        ("S", "10", "11"),
        ("TOTAL QTY", "30", "31"),
    ]


def test_a_cell_that_became_a_cell_issue_is_old_to_null_with_the_issue_named(platform):
    write(platform, [line("GRE-1", "ST1")])
    assert load(platform)["GREYSON"].ok
    write(platform, [line("GRE-1", "ST1", **{"EX FACTORY DATE": "2025-13-45"})])
    assert load(platform)["GREYSON"].ok
    (change,) = changes(platform).itertuples()
    assert (change.column_name, change.old_value, change.new_value) == ("EX FACTORY DATE", "2025-03-01", None)
    assert change.cell_issue.startswith("NOT_A_DATE: 2025-13-45")


def test_a_column_gone_from_the_workbook_or_new_in_it_is_a_change_of_every_line_that_had_a_value(platform):
    headers = [*BASIC_HEADERS, "NOTES"]
    write_workbook(
        platform.source / workbook_name("GREYSON"), [line("GRE-1", "A", NOTES="rush"), line("GRE-2", "B")], headers
    )
    assert load(platform)["GREYSON"].ok
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A"), line("GRE-2", "B")])  # no NOTES
    assert load(platform)["GREYSON"].ok
    headers = [*BASIC_HEADERS, "DESTINATION"]
    write_workbook(
        platform.source / workbook_name("GREYSON"), [line("GRE-1", "A"), line("GRE-2", "B", DESTINATION="AU")], headers
    )
    assert load(platform)["GREYSON"].ok
    found = changes(platform)
    cells = found[["customer_style", "column_name", "old_value", "new_value"]].itertuples(index=False)
    assert [tuple(None if pd.isna(v) else v for v in row) for row in cells] == [
        ("A", "NOTES", "rush", None),
        ("B", "DESTINATION", None, "AU"),
    ]
