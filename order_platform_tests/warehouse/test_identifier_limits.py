"""SQL Server's limits checked before anything is written: table names shortened (the mapping kept),
customer names and paths that no column can hold refused with a message naming the file."""

from __future__ import annotations

import sqlalchemy as sa

from order_platform.staging.customers import raw_table_name, shortened_table_note, staging_table_name
from order_platform.warehouse.tables import MSSQL_MAX_IDENTIFIER
from order_platform.warehouse.writes.limits import customer_name_refusal
from order_platform.workers.runner import run_customers
from order_platform_tests.workbooks import line, workbook_name, write_workbook


def test_every_table_name_fits_sql_server_and_stays_distinct():
    names = [("ACME " * 40)[:n].strip() + suffix for n in range(1, 120, 7) for suffix in ("", ".", " CO.")]
    names += ["A" * 100, "A" * 99 + "B", "É" * 100]
    tables = {n: (raw_table_name(n), staging_table_name(n)) for n in names}
    assert all(len(t) <= MSSQL_MAX_IDENTIFIER for pair in tables.values() for t in pair)
    assert len({pair[1] for pair in tables.values()}) == len(names)
    assert raw_table_name("A" * 100).startswith("x" + "A" * 80)  # readable as far as it fits
    assert raw_table_name("TITLE NINE") == "xTITLE_NINE_ORDER_LIST_RAW"  # short names as before
    assert shortened_table_note("TITLE NINE") is None
    assert shortened_table_note("A" * 100) is None  # 120 characters: fits as it is
    punctuated = "A" * 50 + "." + "A" * 49  # 100 characters and a hash: 129 as they are
    assert staging_table_name(punctuated) in shortened_table_note(punctuated)


def test_names_no_column_can_hold_are_refused():
    assert customer_name_refusal("GREYSON", "USA/GREYSON ORDER LIST (M3).xlsx") is None
    refusal = customer_name_refusal("X" * 101, "X ORDER LIST (M3).xlsx")
    assert "101 characters" in refusal and "at most 100" in refusal
    assert "at most 400" in customer_name_refusal("GREYSON", "deep/" * 80 + "GREYSON ORDER LIST (M3).xlsx")


def test_a_200_character_customer_is_refused_before_anything_is_written(platform):
    long_name = ("VERY LONG CUSTOMER NAME " * 9)[:200].strip()
    write_workbook(platform.source / workbook_name(long_name), [line("LON-1", "A")])
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A")])
    pipeline = platform.pipeline
    listing = pipeline.workbooks()
    assert sorted(listing) == ["GREYSON"]
    (note,) = pipeline.listing_notes
    assert workbook_name(long_name) in note and "at most 100" in note
    assert all(r.ok for r in run_customers(platform.spec, sorted(listing), listing=listing))
    tables = sa.inspect(pipeline.store.engine).get_table_names()
    assert not [t for t in tables if t.startswith("xVERY")]
    assert all(len(t) <= MSSQL_MAX_IDENTIFIER for t in tables)


def test_a_long_customer_name_loads_under_a_shortened_table_name_and_says_so(platform):
    name = "THE LONG-NAMED CO " + "X" * 82  # 100 characters with a hyphen: needs a hash, so 129 as it is
    write_workbook(platform.source / workbook_name(name), [line("LON-1", "A"), line("LON-2", "B")])
    (report,) = run_customers(platform.spec, [platform.pipeline.directory.partition_key(name)])
    assert report.ok, report.error
    table = report.layers["raw"].details["table"]
    assert len(table) <= MSSQL_MAX_IDENTIFIER and len(report.layers["staging"].details["table"]) <= 128
    assert table in report.table_note and "128" in report.table_note
    assert platform.pipeline.store.published_count(table) == 2
