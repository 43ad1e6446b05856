"""A database created before a column was added to a fixed table keeps working (real SQLite)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from order_platform.schema import order_list_schema
from order_platform.warehouse.store import OrderStore
from order_platform.warehouse.tables import CELL_ISSUES_COLUMN, LOADS, ORDER_LIST, platform_metadata


def test_ensure_tables_adds_the_columns_an_older_database_lacks(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    schema = order_list_schema()
    old = platform_metadata(schema)
    for name, dropped in ((ORDER_LIST, {CELL_ISSUES_COLUMN}), (LOADS, {"cell_issues", "date_order", "notes"})):
        table = old.tables[name]
        kept = [sa.Column(c.name, c.type, primary_key=c.primary_key) for c in table.columns if c.name not in dropped]
        sa.Table(name, sa.MetaData(), *kept).create(engine)
    store = OrderStore(engine, schema)
    store.ensure_tables()
    store.ensure_tables()  # idempotent
    inspector = sa.inspect(engine)
    assert CELL_ISSUES_COLUMN in {c["name"] for c in inspector.get_columns(ORDER_LIST)}
    assert {"cell_issues", "date_order", "notes"} <= {c["name"] for c in inspector.get_columns(LOADS)}
    assert store.remembered_date_order("GREYSON") is None
