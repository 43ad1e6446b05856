"""The CLI's refresh with read-ahead (workers/read_ahead.py) writes exactly what it writes without it.

Real sample workbooks (title rows, TBC, `#REF!` cells, partial dates, quarantined lines...), two fresh
homes, one refresh each, every table of both databases compared.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from order_platform.defs.headless import RefreshOutcome, refresh
from order_platform.ingest import read_ahead as sheets
from order_platform.load.stages import STAGES
from stand_ins.sample_data import REGION_FOLDERS, customer_headers, write_customer_workbook

CUSTOMERS = {"GREYSON": 1_200, "TITLE_9": 400, "RHONE": 300, "CAMILLA": 250}
# What differs between any two loads of the same workbooks (found by comparing two refreshes without
# read-ahead): the time (`*_at`, seconds), random ids (load, monday.com sync run) and surrogate keys
# (INTEGER PRIMARY KEY: numbered in the order the two workers' customers happen to commit).
VOLATILE = {"RUN_ID", "SECONDS", "LOAD_ID", "_LOAD_ID", "_LOADED_AT"}


def _volatile(column: str, kind: str, primary_key: int) -> bool:
    name = column.upper()
    return name in VOLATILE or name.endswith("_AT") or (primary_key == 1 and kind.upper() == "INTEGER")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def database_content(path: Path) -> dict[str, list[tuple]]:
    """table -> its rows (volatile columns left out), sorted."""
    content: dict[str, list[tuple]] = {}
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            info = db.execute(f"PRAGMA table_info({_quoted(table)})").fetchall()
            columns = [name for _cid, name, kind, _null, _default, key in info if not _volatile(name, kind, key)]
            rows = db.execute(f"SELECT {', '.join(map(_quoted, columns))} FROM {_quoted(table)}")
            content[table] = sorted(tuple(map(repr, row)) for row in rows.fetchall())
            content[f"{table} columns"] = [tuple(columns)]
    return content


def _refresh_into(home: Path, source: Path, read_ahead: bool, monkeypatch: pytest.MonkeyPatch) -> RefreshOutcome:
    monkeypatch.setenv("ORDER_PLATFORM_HOME", str(home))
    monkeypatch.setenv("ORDER_PLATFORM_SOURCE_DIR", str(source))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.setenv("ORDER_PLATFORM_READ_AHEAD", "1" if read_ahead else "0")
    outcome = refresh(force=False)
    assert sheets.held() == 0  # nothing is held in this process (only in the fork server, until the end)
    return outcome


def test_a_refresh_with_read_ahead_writes_exactly_what_one_without_writes(tmp_path, monkeypatch):
    monkeypatch.setenv("ORDER_PLATFORM_WORKERS", "2")
    for name in ("ORDER_PLATFORM_SOURCE", "ORDER_PLATFORM_BLOB", "ORDER_PLATFORM_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    source = tmp_path / "source"
    headers = customer_headers()
    for i, (name, lines) in enumerate(CUSTOMERS.items()):
        write_customer_workbook(name.replace("_", " "), headers[name], lines, 7 + i, source / REGION_FOLDERS[i % 4])

    without = _refresh_into(tmp_path / "without", source, False, monkeypatch)
    with_ = _refresh_into(tmp_path / "with", source, True, monkeypatch)
    _same_loads(with_, without)
    assert without.read_ahead is None
    assert with_.read_ahead is not None and with_.read_ahead.workbooks >= 1  # read ahead, and used:
    assert with_.load_stages.get("read", (0.0, 0.0))[1] < without.load_stages["read"][1]

    # a changed workbook: its next refresh reads the new content ahead (nothing stale) and records changes
    greyson = next(source.rglob("GREYSON*.xlsx"))
    write_customer_workbook("GREYSON", headers["GREYSON"], 1_100, 99, greyson.parent)
    without = _refresh_into(tmp_path / "without", source, False, monkeypatch)
    with_ = _refresh_into(tmp_path / "with", source, True, monkeypatch)
    _same_loads(with_, without)
    assert [x["customer"] for x in with_.loads] == ["GREYSON"] and 1_100 <= with_.loads[0]["raw_rows"] < 1_200
    assert with_.read_ahead is not None and with_.read_ahead.workbooks == 1

    a = database_content(tmp_path / "without" / "order_platform.db")
    b = database_content(tmp_path / "with" / "order_platform.db")
    assert len(a["ORDER_LIST_CHANGES"]) > 100 and len(a["ORDER_LIST_QUARANTINE"]) > 0
    assert len(a["ORDER_LIST_CELL_ISSUES"]) > 0
    assert sorted(a) == sorted(b)
    for table in a:
        assert a[table] == b[table], table


def _same_loads(with_: RefreshOutcome, without: RefreshOutcome) -> None:
    assert with_.ok and without.ok
    assert set(with_.load_stages) <= set(STAGES)

    def counts(outcome: RefreshOutcome) -> list[tuple]:
        keys = ("customer", "status", "raw_rows", "staged_rows", "quarantined_rows", "published_rows", "error")
        return [tuple(x.get(k) for k in keys) for x in outcome.loads]

    assert counts(with_) == counts(without)
