"""The scratch image the SQLite bulk writes are bound in (warehouse/writes/sqlite_bulk.py)."""

from __future__ import annotations

import sqlite3

from order_platform.warehouse.engine import SQLITE_PAGE_SIZE
from order_platform.warehouse.writes.sqlite_bulk import scratch_image


def test_the_image_holds_the_rows_in_pages_of_the_databases_size() -> None:
    rows = [(i, f"text {i}" if i % 3 else None, i / 4) for i in range(5000)]
    image = scratch_image("CREATE TABLE t (a INTEGER, b TEXT, c REAL)", "INSERT INTO t VALUES (?, ?, ?)", iter(rows))
    assert int.from_bytes(image[16:18], "big") == SQLITE_PAGE_SIZE  # the header's page size
    reader = sqlite3.connect(":memory:")
    reader.deserialize(image)
    assert reader.execute("SELECT a, b, c FROM t ORDER BY rowid").fetchall() == rows
    reader.close()
