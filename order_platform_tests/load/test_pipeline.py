"""The ORDER_LIST layers end to end on real workbooks and a real SQLite database."""

import json

import pandas as pd
import sqlalchemy as sa

from order_platform.workers.runner import run_customers, start_worker_server
from order_platform_tests.workbooks import BASIC_HEADERS, line, workbook_name, write_workbook


def greyson_rows():
    return [
        line("GRE-1", "ST1"),
        line("GRE-1", "ST2", s="1,200", m=None, total=1200),
        line("GRE-2", "ST1", **{"ORDER TYPE": "cancelled", "EX FACTORY DATE": "TBC"}),
        line("GRE-2", "ST1", **{"ORDER TYPE": "cancelled", "EX FACTORY DATE": "TBC"}),  # exact duplicate
        line(None, "ST9"),  # no order number: not an order
        line("GRE-3", "ST3", s="lots"),  # a size that is not a number
        line("GRE-4", "ST4", total=99),  # TOTAL QTY disagrees: a warning, still loaded
        line("GRE-5", "ST5", **{"CUSTOMER PRICE": 123456789.0}),  # overflows DECIMAL(10,4)
        ["TOTAL", None, None, None, None, None, None, None, None, None, None, 1500],
    ]


def load(platform, customers=("GREYSON",)):
    return {r.customer: r for r in run_customers(platform.spec, list(customers))}


def test_every_order_line_is_published_and_untypeable_cells_are_listed(platform):
    write_workbook(platform.source / "USA CUSTOMERS" / workbook_name("GREYSON"), greyson_rows())
    report = load(platform)["GREYSON"]
    assert report.ok, report.error
    staging = report.layers["staging"]
    assert staging.details["raw_rows"] == 9
    # only the row without an order number and the TOTAL row are not order lines
    assert staging.rows == 7 and report.published_rows == 7
    assert staging.details["quarantined_rows"] == 2
    assert staging.details["quarantine_by_reason"] == {"NOT_AN_ORDER": 1, "TOTAL_ROW": 1}
    store = platform.pipeline.store
    by_row = {int(r["row_number"]): r for r in store.quarantine_for("GREYSON").to_dict("records")}
    assert by_row[6]["reason_code"] == "NOT_AN_ORDER" and by_row[10]["reason_code"] == "TOTAL_ROW"
    issues = store.cell_issues_for("GREYSON")
    listed = {(int(r["row_number"]), r["column_name"]): r for r in issues.to_dict("records")}
    assert listed[(7, "S")]["value"] == "lots" and listed[(7, "S")]["reason_code"] == "NOT_A_NUMBER"
    price = listed[(9, "CUSTOMER PRICE")]
    assert price["value"] == "123456789" and price["reason_code"] == "OUT_OF_RANGE"
    assert "DECIMAL(10,4)" in price["reason"]
    assert listed[(4, "EX FACTORY DATE")]["reason_code"] == "PLACEHOLDER"  # TBC: blank on purpose, listed
    assert all(r["source_file"].endswith(workbook_name("GREYSON")) and r["sheet"] == "MASTER" for r in listed.values())
    frame = store.order_list_slice("xGREYSON_ORDER_LIST_RAW").set_index("_SOURCE_ROW")
    assert pd.isna(frame.loc[7, "S"]) and frame.loc[7, "M"] == 20  # the line is there, the bad cell NULL
    assert pd.isna(frame.loc[9, "CUSTOMER PRICE"])
    assert json.loads(frame.loc[7, "_CELL_ISSUES"]) == {"S": {"value": "lots", "reason_code": "NOT_A_NUMBER"}}
    assert frame.loc[7, "record_uuid"] == listed[(7, "S")]["record_uuid"]
    assert pd.isna(frame.loc[2, "_CELL_ISSUES"])
    checks = {c.name: c for c in report.checks}
    assert checks["rows_accounted_for"].passed
    cells = checks["no_cell_issues"]
    assert not cells.passed and not cells.blocking
    assert cells.details["by_column"] == {"S": {"NOT_A_NUMBER": 1}, "CUSTOMER PRICE": {"OUT_OF_RANGE": 1}}
    assert cells.details["placeholders"] == 2 and cells.details["lines"] == 2
    assert staging.details["cell_issues_by_reason"] == {"NOT_A_NUMBER": 1, "OUT_OF_RANGE": 1}
    assert store.last_load("GREYSON")["cell_issues"] == 2
    assert checks["total_qty_matches_sizes"].details["rows"] == [7, 8]  # row 7: S not loaded


def test_every_cell_is_typed_blank_or_listed(platform):
    rows = [
        *greyson_rows(),
        line("GRE-6", "ST6", **{"INVOICE YEAR": "V147", "EX FACTORY DATE": "2025-03"}),
        line("GRE-7", "ST7", **{"CUSTOMER COLOUR DESCRIPTION": "#REF!", "L": "#DIV/0!", "TOTAL QTY": "#N/A"}),
    ]
    write_workbook(platform.source / workbook_name("GREYSON"), rows, headers=[*BASIC_HEADERS, "INVOICE YEAR"])
    report = load(platform)["GREYSON"]
    assert report.ok, report.error
    store = platform.pipeline.store
    raw = pd.read_sql_table("xGREYSON_ORDER_LIST_RAW", store.engine).set_index("_SOURCE_ROW")
    published = store.order_list_slice("xGREYSON_ORDER_LIST_RAW").set_index("_SOURCE_ROW")
    quarantined = set(store.quarantine_for("GREYSON")["row_number"].astype(int))
    assert len(raw) == len(published) + len(quarantined)
    listed = {(int(r["row_number"]), r["source_header"]) for r in store.cell_issues_for("GREYSON").to_dict("records")}
    for row in published.index:
        for header in [*BASIC_HEADERS, "INVOICE YEAR"]:
            written = raw.loc[row, header]
            if written is None or pd.isna(written):
                continue
            assert not pd.isna(published.loc[row, header]) or (row, header) in listed, (row, header, written)
    issues = store.cell_issues_for("GREYSON").set_index(["row_number", "column_name"])
    assert issues.loc[(11, "INVOICE YEAR"), "reason_code"] == "NOT_A_NUMBER"
    assert issues.loc[(11, "INVOICE YEAR"), "value"] == "V147"
    assert issues.loc[(11, "EX FACTORY DATE"), "reason_code"] == "PARTIAL_DATE"
    for column, value in (("CUSTOMER COLOUR DESCRIPTION", "#REF!"), ("L", "#DIV/0!"), ("TOTAL QTY", "#N/A")):
        assert issues.loc[(12, column), "reason_code"] == "EXCEL_ERROR"
        assert issues.loc[(12, column), "value"] == value
        assert pd.isna(published.loc[12, column])


def test_published_values_are_typed_and_canonical(platform):
    write_workbook(platform.source / workbook_name("GREYSON"), greyson_rows())
    load(platform)
    frame = platform.pipeline.store.order_list_slice("xGREYSON_ORDER_LIST_RAW")
    first = frame[frame["CUSTOMER STYLE"] == "ST2"].iloc[0]
    assert first["S"] == 1200 and pd.isna(first["M"])
    assert first["CUSTOMER NAME"] == "GREYSON" and first["SOURCE_CUSTOMER_NAME"] == "GREYSON CLOTHIERS"
    assert first["ORDER TYPE"] == "RECEIVED"  # ACTIVE means RECEIVED
    assert str(first["EX FACTORY DATE"]) == "2025-03-01"
    assert first["_SOURCE_ROW"] == 3 and first["_SOURCE_SHEET"] == "MASTER"
    cancelled = frame[frame["AAG ORDER NUMBER"] == "GRE-2"]
    assert cancelled["EX FACTORY DATE"].isna().all()  # TBC is a blank date, not an error
    assert cancelled["ORDER TYPE"].tolist() == ["CANCELLED", "CANCELLED"]


def test_ids_are_stable_across_reloads_and_duplicates_stay_distinct(platform):
    path = write_workbook(platform.source / workbook_name("GREYSON"), greyson_rows())
    load(platform)
    store = platform.pipeline.store
    before = store.order_list_slice("xGREYSON_ORDER_LIST_RAW")
    assert before["record_uuid"].is_unique
    # edit a quantity and insert a new line above the others: existing lines keep their ids
    rows = greyson_rows()
    rows[0] = line("GRE-1", "ST1", s=11, total=31)
    write_workbook(path, [line("GRE-9", "NEW"), *rows])
    load(platform)
    after = store.order_list_slice("xGREYSON_ORDER_LIST_RAW")
    assert len(after) == len(before) + 1
    key = ["AAG ORDER NUMBER", "CUSTOMER STYLE"]
    ids_before = before.groupby(key)["record_uuid"].apply(sorted).to_dict()
    ids_after = after.groupby(key)["record_uuid"].apply(sorted).to_dict()
    for k, ids in ids_before.items():
        assert ids_after[k] == ids, k
    assert int(after.loc[after["CUSTOMER STYLE"] == "ST1"].query("`AAG ORDER NUMBER` == 'GRE-1'")["S"].iloc[0]) == 11


def test_unknown_headers_are_kept_and_reported(platform):
    headers = [*BASIC_HEADERS, "ORIGINAL PO NUMBER", "3/4Y"]
    rows = [{**line("GRE-1", "ST1"), "ORIGINAL PO NUMBER": "OLD-1", "3/4Y": 4}]
    write_workbook(platform.source / workbook_name("GREYSON"), rows, headers=headers)
    report = load(platform)["GREYSON"]
    assert report.layers["staging"].details["unknown_headers"] == ["ORIGINAL PO NUMBER", "3/4Y"]
    assert not {c.name: c for c in report.checks}["no_unknown_headers"].passed
    frame = platform.pipeline.store.order_list_slice("xGREYSON_ORDER_LIST_RAW")
    assert json.loads(frame["_EXTRA_COLUMNS"].iloc[0]) == {"ORIGINAL PO NUMBER": "OLD-1", "3/4Y": "4"}
    raw = pd.read_sql_table("xGREYSON_ORDER_LIST_RAW", platform.pipeline.store.engine)
    assert raw["3/4Y"].tolist() == ["4"] and raw["_SOURCE_ROW"].tolist() == [2]


def test_a_bad_workbook_fails_alone_and_keeps_the_previous_slice(platform):
    good = write_workbook(platform.source / workbook_name("GREYSON"), greyson_rows())
    write_workbook(platform.source / workbook_name("TITLE 9"), [line("TIT-1", "A")])
    first = load(platform, ["GREYSON", "TITLE NINE"])
    assert first["GREYSON"].ok and first["TITLE NINE"].ok
    good.write_bytes(b"not a workbook any more")
    write_workbook(platform.source / workbook_name("TITLE 9"), [line("TIT-1", "A"), line("TIT-2", "B")])
    second = load(platform, ["GREYSON", "TITLE NINE"])
    assert not second["GREYSON"].ok and "not an Excel workbook" in second["GREYSON"].error
    assert second["TITLE NINE"].ok and second["TITLE NINE"].published_rows == 2
    store = platform.pipeline.store
    assert store.published_count("xGREYSON_ORDER_LIST_RAW") == 7  # the previous slice is still there
    assert store.last_load("GREYSON")["status"] == "failed"


def test_publish_is_atomic_when_the_insert_fails(platform):
    write_workbook(platform.source / workbook_name("GREYSON"), greyson_rows())
    load(platform)
    store = platform.pipeline.store
    # Sabotage the staging table so the INSERT ... SELECT fails half way through the swap.
    with store.engine.begin() as conn:
        conn.exec_driver_sql('ALTER TABLE "xGREYSON_ORDER_LIST_STAGING" RENAME TO "gone"')
    pipeline = platform.pipeline
    ref = pipeline.locate("GREYSON")
    staged = pipeline.stage("GREYSON", ref, pipeline.read_raw("GREYSON"))
    with store.engine.begin() as conn:
        conn.exec_driver_sql('DROP TABLE "xGREYSON_ORDER_LIST_STAGING"')
        conn.exec_driver_sql('CREATE TABLE "xGREYSON_ORDER_LIST_STAGING" ("record_uuid" TEXT)')
        conn.exec_driver_sql('INSERT INTO "xGREYSON_ORDER_LIST_STAGING" VALUES (NULL)')
    try:
        pipeline.publish("GREYSON", ref, staged, None)
    except sa.exc.IntegrityError:
        pass
    else:  # pragma: no cover - the sabotage must make the publish fail
        raise AssertionError("publish should have failed")
    assert store.published_count("xGREYSON_ORDER_LIST_RAW") == 7


def test_unchanged_workbook_is_skipped_unless_forced(platform):
    write_workbook(platform.source / workbook_name("GREYSON"), greyson_rows())
    load(platform)
    again = next(run_customers(platform.spec, ["GREYSON"], force=False))
    assert again.unchanged and "order_list" not in again.layers
    forced = next(run_customers(platform.spec, ["GREYSON"], force=True))
    assert forced.published_rows == 7


def test_two_processes_load_customers_side_by_side(platform):
    for i, name in enumerate(["GREYSON", "TITLE 9", "RHONE"]):
        write_workbook(platform.source / workbook_name(name), [line(f"X-{i}-{n}", f"S{n}") for n in range(30)])
    start_worker_server()  # as the headless refresh does before Dagster plans the run; idempotent
    start_worker_server()
    reports = list(run_customers(platform.spec, ["GREYSON", "TITLE NINE", "RHONE"], workers=2))
    assert sorted(r.customer for r in reports) == ["GREYSON", "RHONE", "TITLE NINE"]
    assert all(r.ok and r.published_rows == 30 for r in reports)
    with platform.pipeline.store.engine.connect() as conn:
        assert conn.exec_driver_sql('SELECT COUNT(*) FROM "ORDER_LIST"').scalar_one() == 90


def test_workers_start_whatever_the_main_script_is(platform):
    """Workers do not re-run the main script: one read from stdin (no file to re-run) still loads."""
    import subprocess
    import sys

    for i, name in enumerate(["GREYSON", "TITLE 9"]):
        write_workbook(platform.source / workbook_name(name), [line(f"X-{i}", "S")])
    script = (
        "from order_platform.load.factory import PipelineSpec\n"
        "from order_platform.workers.runner import run_customers\n"
        f"spec = PipelineSpec({platform.spec.database_url!r}, {platform.spec.source_dir!r}, "
        f"{platform.spec.blob_dir!r})\n"
        "reports = list(run_customers(spec, ['GREYSON', 'TITLE NINE'], workers=2))\n"
        "print('LOADED', sorted(r.customer for r in reports if r.ok and r.published_rows == 1))\n"
    )
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120)
    assert "LOADED ['GREYSON', 'TITLE NINE']" in done.stdout, done.stderr[-2000:]


def test_customers_whose_names_differ_only_in_punctuation_keep_their_own_slices(platform):
    write_workbook(platform.source / workbook_name("ACME CO"), [line("ACM-1", "A"), line("ACM-2", "B")])
    write_workbook(platform.source / "sub" / workbook_name("ACME CO."), [line("ACX-1", "A")])
    reports = load(platform, ["ACME CO", "ACME CO."])
    assert all(r.ok for r in reports.values())
    store = platform.pipeline.store
    assert sorted(store.order_list_for_customer("ACME CO")["AAG ORDER NUMBER"]) == ["ACM-1", "ACM-2"]
    assert sorted(store.order_list_for_customer("ACME CO.")["AAG ORDER NUMBER"]) == ["ACX-1"]
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql('SELECT COUNT(*) FROM "ORDER_LIST"').scalar_one() == 3


def test_a_renamed_workbook_replaces_its_customers_slice(platform):
    old = platform.source / workbook_name("GREYSON CLOTHIERS")
    write_workbook(old, [line("GRE-1", "A")])
    assert load(platform)["GREYSON"].ok
    old.unlink()
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A"), line("GRE-2", "B")])
    report = load(platform)["GREYSON"]
    assert report.ok, report.error
    with platform.pipeline.store.engine.connect() as conn:
        assert conn.exec_driver_sql('SELECT COUNT(*) FROM "ORDER_LIST"').scalar_one() == 2


def test_a_sheet_wider_than_sqlite_allows_fails_alone_naming_file_and_sheet(platform):
    headers = [*BASIC_HEADERS, *(f"NOTE {n}" for n in range(2000))]
    rows = [[*(line("EQU-1", "A").get(h) for h in BASIC_HEADERS), "x"]]
    write_workbook(platform.source / workbook_name("EQUINOX"), rows, headers)
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A")])
    reports = load(platform, ["EQUINOX", "GREYSON"])
    assert reports["GREYSON"].ok
    error = reports["EQUINOX"].error
    assert "EQUINOX ORDER LIST (M3).xlsx" in error and "sheet 'MASTER'" in error and "at most 2000" in error


def test_headings_and_notes_in_the_order_number_column_are_not_orders(platform):
    rows = [
        ["SPRING 25 - DROP 1"],
        line("GRE-1", "A"),
        ["*** CANCELLED BELOW ***"],
        line("GRE-2", "B", s=None, m=None, total=None),  # no quantity yet, but a style: an order line
    ]
    write_workbook(platform.source / workbook_name("GREYSON"), rows)
    report = load(platform)["GREYSON"]
    assert report.published_rows == 2
    quarantine = platform.pipeline.store.quarantine_for("GREYSON")
    assert quarantine["row_number"].tolist() == [2, 4]
    assert set(quarantine["reason_code"]) == {"NOT_AN_ORDER"} and "heading" in quarantine["reason"].iloc[0]
    assert quarantine["value"].tolist() == ["SPRING 25 - DROP 1", "*** CANCELLED BELOW ***"]


DATED_HEADERS = [*BASIC_HEADERS, "ETA CUSTOMER WAREHOUSE DATE"]


def dated(aag: str, ex_factory: str, eta: str | None = None) -> dict:
    return line(aag, "ST", **{"EX FACTORY DATE": ex_factory, "ETA CUSTOMER WAREHOUSE DATE": eta})


def dates_of(platform, customer: str = "GREYSON") -> dict[str, tuple[str | None, str | None]]:
    frame = platform.pipeline.store.order_list_for_customer(customer)
    text = lambda v: None if v is None or pd.isna(v) else str(v)[:10]  # noqa: E731
    return {
        r["AAG ORDER NUMBER"]: (text(r["EX FACTORY DATE"]), text(r["ETA CUSTOMER WAREHOUSE DATE"]))
        for r in frame.to_dict("records")
    }


def test_text_dates_keep_their_meaning_after_an_unrelated_edit(platform):
    path = platform.source / "_PAST Customers" / workbook_name("GREYSON")
    rows = [dated("GRE-1", "04/05/2025", "03/04/2025"), dated("GRE-2", "05/14/2025", "03/04/2025")]
    write_workbook(path, rows, headers=DATED_HEADERS)
    first = load(platform)["GREYSON"]
    assert first.ok, first.error
    # 05/14/2025 proves the workbook is month first: every text date column is read that way
    assert dates_of(platform)["GRE-1"] == ("2025-04-05", "2025-03-04")
    assert first.layers["staging"].details["date_order"]["decided_by"] == "evidence"
    rows[1] = dated("GRE-2", "05/12/2025", "03/04/2025")  # the only evidence is edited away
    write_workbook(path, rows, headers=DATED_HEADERS)
    second = load(platform)["GREYSON"]
    assert dates_of(platform) == {"GRE-1": ("2025-04-05", "2025-03-04"), "GRE-2": ("2025-05-12", "2025-03-04")}
    assert second.layers["staging"].details["date_order"]["decided_by"] == "remembered"
    assert not second.layers["staging"].details["notes"]


def test_dates_follow_the_region_folder_when_the_workbook_does_not_say(platform):
    for folder, customer in (
        ("USA CUSTOMERS", "GREYSON"),
        ("aus customers/2025", "TITLE 9"),
        ("EU CUSTOMERS", "RHONE"),
    ):
        write_workbook(
            platform.source / folder / workbook_name(customer),
            [dated("X-1", "04/05/2025", "03/04/2025")],
            headers=DATED_HEADERS,
        )
    reports = load(platform, ["GREYSON", "TITLE NINE", "RHONE"])
    assert all(r.ok for r in reports.values())
    assert dates_of(platform, "GREYSON") == {"X-1": ("2025-04-05", "2025-03-04")}  # month first
    assert dates_of(platform, "TITLE NINE") == {"X-1": ("2025-05-04", "2025-04-03")}  # day first
    assert dates_of(platform, "RHONE") == {"X-1": ("2025-05-04", "2025-04-03")}
    assert reports["TITLE NINE"].layers["staging"].details["date_order"]["region_folder"] == "aus customers"


def test_contradicting_dates_are_cell_issues_and_a_change_of_order_is_reported(platform):
    path = platform.source / "USA CUSTOMERS" / workbook_name("GREYSON")
    write_workbook(path, [dated("GRE-1", "04/05/2025")], headers=DATED_HEADERS)
    load(platform)
    assert dates_of(platform)["GRE-1"][0] == "2025-04-05"  # month first, from the region, remembered
    rows = [dated("GRE-1", "04/05/2025"), dated("GRE-2", "25/12/2025"), dated("GRE-3", "26/12/2025")]
    write_workbook(path, rows, headers=DATED_HEADERS)
    report = load(platform)["GREYSON"]
    assert report.ok and report.published_rows == 3
    # the workbook's dates now read only day first: it is read that way, and says the order changed
    assert dates_of(platform)["GRE-1"][0] == "2025-05-04"
    notes = report.layers["staging"].details["notes"]
    assert any("earlier loads read them month first" in n for n in notes), notes
    load_record = platform.pipeline.store.last_load("GREYSON")
    assert load_record["date_order"] == "DMY" and "month first" in load_record["notes"]
    write_workbook(path, [*rows, dated("GRE-4", "12/27/2025")], headers=DATED_HEADERS)
    report = load(platform)["GREYSON"]
    # one date against the remembered day-first order: a cell issue, nothing else turns around
    assert dates_of(platform)["GRE-1"][0] == "2025-05-04" and dates_of(platform)["GRE-4"][0] is None
    assert report.published_rows == 4
    issues = platform.pipeline.store.cell_issues_for("GREYSON")
    conflict = issues[issues["reason_code"] == "DATE_ORDER_CONFLICT"]
    assert conflict["value"].tolist() == ["12/27/2025"] and conflict["row_number"].tolist() == [5]
    assert "dd/mm/yyyy" in conflict["reason"].iloc[0]


def test_a_line_naming_another_customer_stays_in_its_workbook(platform):
    rows = [line("GRE-1", "A"), line("GRE-2", "B", **{"CUSTOMER NAME": "TITLE 9"})]
    write_workbook(platform.source / workbook_name("GREYSON"), rows)
    report = load(platform)["GREYSON"]
    assert report.ok and report.published_rows == 2
    frame = platform.pipeline.store.order_list_for_customer("GREYSON").set_index("AAG ORDER NUMBER")
    assert frame.loc["GRE-2", "CUSTOMER NAME"] == "GREYSON"
    assert frame.loc["GRE-2", "SOURCE_CUSTOMER_NAME"] == "TITLE 9"
    assert json.loads(frame.loc["GRE-2", "_CELL_ISSUES"]) == {
        "CUSTOMER NAME": {"value": "TITLE 9", "reason_code": "OTHER_CUSTOMER"}
    }
    issue = platform.pipeline.store.cell_issues_for("GREYSON").iloc[0]
    assert issue["reason_code"] == "OTHER_CUSTOMER" and "TITLE NINE" in issue["reason"]


def test_a_line_whose_key_cannot_be_read_is_quarantined_naming_the_cell(platform):
    rows = [line("GRE-1", "A"), line("GRE-2", "#REF!"), line("GRE-3", "S" * 101), line("#N/A", "C")]
    write_workbook(platform.source / workbook_name("GREYSON"), rows)
    report = load(platform)["GREYSON"]
    assert report.published_rows == 1
    quarantine = platform.pipeline.store.quarantine_for("GREYSON")
    # one record per row: an order number that is an Excel error is an unusable key, not a blank one
    assert quarantine["reason_code"].tolist() == ["UNUSABLE_KEY"] * 3
    assert quarantine["column_name"].tolist() == ["CUSTOMER STYLE", "CUSTOMER STYLE", "AAG ORDER NUMBER"]
    assert quarantine["value"].tolist() == ["#REF!", "S" * 101, "#N/A"]


def test_placeholders_are_listed_but_do_not_fail_the_cell_issue_check(platform):
    rows = [line("GRE-1", "A", **{"EX FACTORY DATE": "TBC"}), line("GRE-2", "B")]
    write_workbook(platform.source / workbook_name("GREYSON"), rows)
    report = load(platform)["GREYSON"]
    check = {c.name: c for c in report.checks}["no_cell_issues"]
    assert check.passed and check.details["placeholders"] == 1 and check.details["by_reason"] == {}
    listed = platform.pipeline.store.cell_issues_for("GREYSON")
    assert listed["reason_code"].tolist() == ["PLACEHOLDER"] and listed["value"].tolist() == ["TBC"]
    assert platform.pipeline.store.last_load("GREYSON")["cell_issues"] == 0


def test_staging_rebuilt_from_the_raw_table_equals_staging_from_the_workbook(platform):
    """The raw layer built from the workbook in memory and the raw table read back type the same:
    numbers stored as text, text in number columns, Excel and text dates, errors, blanks."""
    from datetime import date, datetime

    rows = [
        line("GRE-1", "ST1", s="12", m="lots", **{"EX FACTORY DATE": date(2025, 3, 1)}),
        line("GRE-2", "ST2", s=7.5, m="#N/A", **{"EX FACTORY DATE": "01/04/2025", "CUSTOMER PRICE": "1,200"}),
        line("GRE-3", "ST3", s=" 3 ", m=-0.0, **{"EX FACTORY DATE": 45000, "CUSTOMER PRICE": True}),
        line("GRE-4", "ST4", s=2.0**53, **{"EX FACTORY DATE": datetime(2025, 3, 1, 10, 30), "CUSTOMER PRICE": "TBC"}),
        line("GRE-5", " ST5 ", s=None, m=None, total=None, **{"EX FACTORY DATE": datetime(1900, 1, 1)}),
        line(None, "ST9"),
        ["TOTAL", None, None, None, None, None, None, None, None, None, None, 1500],
    ]
    write_workbook(platform.source / "USA CUSTOMERS" / workbook_name("GREYSON"), rows)
    pipeline = platform.pipeline
    ref = pipeline.locate("GREYSON")
    raw = pipeline.load_raw("GREYSON", ref, pipeline.fetch_source(ref).data)
    fresh = pipeline.stage("GREYSON", ref, raw).result
    again = pipeline.stage("GREYSON", ref, pipeline.read_raw("GREYSON")).result
    assert fresh.raw_rows == again.raw_rows == 7 and len(fresh.cell_issues) > 3
    pd.testing.assert_frame_equal(fresh.staged.drop(columns="_LOAD_ID"), again.staged.drop(columns="_LOAD_ID"))
    pd.testing.assert_frame_equal(fresh.quarantine, again.quarantine)
    pd.testing.assert_frame_equal(fresh.cell_issues, again.cell_issues)
