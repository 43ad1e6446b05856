"""`order-platform changes`: the report of the latest loads, --since, --customer, --csv, and --line."""

from __future__ import annotations

import csv
import datetime as dt

import sqlalchemy as sa
from click.testing import CliRunner

from order_platform.cli.main import main
from order_platform.warehouse.tables import CHANGES
from order_platform.workers.runner import run_customers
from order_platform_tests.workbooks import line, workbook_name, write_workbook


def _loaded_then_edited(platform, monkeypatch):
    monkeypatch.setenv("ORDER_PLATFORM_DATABASE_URL", platform.spec.database_url)
    monkeypatch.setenv("ORDER_PLATFORM_BLOB_DIR", platform.spec.blob_dir)
    greyson = platform.source / workbook_name("GREYSON")
    write_workbook(greyson, [line("GRE-1", "A", **{"PO NUMBER": "PO-7"}), line("GRE-2", "B")])
    write_workbook(platform.source / workbook_name("TITLE 9"), [line("TIT-1", "A", **{"CUSTOMER NAME": "TITLE 9"})])
    assert all(r.ok for r in run_customers(platform.spec, ["GREYSON", "TITLE NINE"]))
    write_workbook(
        greyson, [line("GRE-1", "A", s=12, total=32, **{"PO NUMBER": "PO-7", "NOTES": "x"}), line("GRE-3", "C")]
    )
    assert all(r.ok for r in run_customers(platform.spec, ["GREYSON"]))


def test_the_report_shows_each_customers_latest_changes_most_significant_first(platform, monkeypatch, tmp_path):
    _loaded_then_edited(platform, monkeypatch)
    result = CliRunner().invoke(main, ["changes"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "GREYSON: 1 line(s) added, 1 removed, 1 changed (2 value(s))" in out
    assert "TITLE NINE" not in out  # its latest load was its baseline
    body = out.splitlines()
    s_line = next(i for i, t in enumerate(body) if "S: 10 -> 12" in t)
    total = next(i for i, t in enumerate(body) if "TOTAL QTY: 30 -> 32" in t)
    added = next(i for i, t in enumerate(body) if "line added" in t)
    assert s_line < added and total < added  # quantities before lines
    assert "PO PO-7 / A / GRE-1" in body[s_line]

    target = tmp_path / "changes.csv"
    today = dt.date.today().isoformat()
    result = CliRunner().invoke(main, ["changes", "--since", today, "--customer", "GREYSON", "--csv", str(target)])
    assert result.exit_code == 0 and "wrote 4 change(s)" in result.output
    rows = list(csv.DictReader(target.open()))
    assert [r["significance"] for r in rows] == ["quantity", "quantity", "line", "line"]
    assert {(r["column_name"], r["old_value"], r["new_value"]) for r in rows[:2]} == {
        ("S", "10", "12"),
        ("TOTAL QTY", "30", "32"),
    }
    none = CliRunner().invoke(main, ["changes", "--customer", "TITLE 9"])
    assert none.exit_code == 0 and "none" in none.output


def test_a_lines_history_by_po_and_as_it_was_on_a_day(platform, monkeypatch):
    _loaded_then_edited(platform, monkeypatch)
    engine = sa.create_engine(platform.spec.database_url)
    with engine.begin() as conn:  # the edit happened "yesterday": the line as of the day before shows the old values
        conn.execute(
            sa.text(f"UPDATE {CHANGES} SET changed_at = :at"), {"at": dt.datetime.now() - dt.timedelta(days=1)}
        )
    before = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    result = CliRunner().invoke(main, ["changes", "--line", "PO-7", "--as-of", before])
    assert result.exit_code == 0, result.output
    assert "S: 10 -> 12" in result.output and "TOTAL QTY: 30 -> 32" in result.output
    assert "    S: 10" in result.output and "    TOTAL QTY: 30" in result.output
    removed = CliRunner().invoke(main, ["changes", "--line", "PO-1", "--as-of", before])
    assert "line removed" in removed.output and "not in ORDER_LIST (removed)" in removed.output
    assert "    CUSTOMER STYLE: B" in removed.output  # GRE-2 as it was before it was removed
