"""Retiring a customer in the database: its ORDER_LIST slice moves to ORDER_LIST_ARCHIVE (one
transaction, with the load log's 'retired' row), its quarantine and cell-issue rows go, its raw and
staging tables are dropped (its remembered date order stays, for when it comes back). The archive
keeps every ORDER_LIST column plus when and why the rows were archived."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from order_platform.schema import SOURCE_TABLE_COLUMN
from order_platform.staging.customers import raw_table_name, staging_table_name
from order_platform.warehouse.store import LoadRecord, OrderStore
from order_platform.warehouse.tables import DATETIME_TYPE

ARCHIVE = "ORDER_LIST_ARCHIVE"


@dataclass(frozen=True)
class ArchivedSlice:
    customer: str
    archived_rows: int
    dropped_tables: list[str]


def archive_table(store: OrderStore) -> sa.Table:
    """ORDER_LIST's columns (no primary key: a customer may be retired, come back and go again)."""
    metadata = sa.MetaData()
    return sa.Table(
        ARCHIVE,
        metadata,
        *(sa.Column(c.name, c.type) for c in store.order_list.columns),
        sa.Column("_ARCHIVED_AT", DATETIME_TYPE, nullable=False),
        sa.Column("_ARCHIVE_REASON", sa.Unicode(200)),
        sa.Index("IX_ORDER_LIST_ARCHIVE_SOURCE_TABLE", SOURCE_TABLE_COLUMN),
    )


def slice_rows(store: OrderStore, customer: str) -> int:
    return store.published_count(raw_table_name(customer))


def customer_tables(store: OrderStore, customer: str) -> list[str]:
    return [t for t in (raw_table_name(customer), staging_table_name(customer)) if store.table_exists(t)]


def archive_customer(store: OrderStore, customer: str, reason: str) -> ArchivedSlice:
    """Move the customer's ORDER_LIST slice to the archive and drop its raw/staging tables."""
    archive = archive_table(store)
    archive.create(store.engine, checkfirst=True)
    order_list = store.order_list
    source = raw_table_name(customer)
    columns = [c.name for c in order_list.columns]
    now = datetime.now()
    record = LoadRecord(str(uuid.uuid4()), customer, "", None, None, now)
    with store.engine.begin() as conn:
        copied = conn.execute(
            sa.insert(archive).from_select(
                [*columns, "_ARCHIVED_AT", "_ARCHIVE_REASON"],
                sa.select(
                    *(order_list.c[c] for c in columns),
                    sa.literal(now, DATETIME_TYPE),
                    sa.literal(reason[:200], sa.Unicode(200)),
                ).where(order_list.c[SOURCE_TABLE_COLUMN] == source),
            )
        ).rowcount
        conn.execute(sa.delete(order_list).where(order_list.c[SOURCE_TABLE_COLUMN] == source))
        conn.execute(sa.delete(store.quarantine).where(store.quarantine.c.customer == customer))
        conn.execute(sa.delete(store.cell_issues).where(store.cell_issues.c.customer == customer))
        store._log_load(conn, record, "retired", {"published_rows": 0}, error=reason)
    dropped = customer_tables(store, customer)
    for name in dropped:
        sa.Table(name, sa.MetaData()).drop(store.engine, checkfirst=True)
    return ArchivedSlice(customer, int(copied or 0), dropped)
