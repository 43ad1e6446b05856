"""Database reads and writes for the ORDER_LIST layers: raw, staging, publish (slice, quarantine, cell
issues, remembered date order), load log.

Bulk writes: SQLite binds rows in a scratch database (writes/sqlite_bulk.py); SQL Server loads the raw and
staging tables through the driver's bulk copy (writes/mssql_bulk.py; array-bound executemany where the
driver has none). The publish is one transaction that swaps a customer's slice, so readers see the old
or the new one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

import numpy as np
import pandas as pd
import sqlalchemy as sa

from order_platform.schema import KEY_COLUMN, SOURCE_TABLE_COLUMN, OrderListSchema
from order_platform.staging.cell_issues import NOT_A_PROBLEM
from order_platform.staging.date_order import DateOrder
from order_platform.staging.transform import RAW_LINEAGE
from order_platform.warehouse.changes.diff import ChangeSummary, SliceChange, record_changes
from order_platform.warehouse.date_orders import remember_date_order, remembered_date_order
from order_platform.warehouse.store_reads import StoreReads
from order_platform.warehouse.tables import (
    CELL_ISSUES,
    CHANGES,
    DATE_ORDER,
    LOADS,
    ORDER_LIST,
    QUARANTINE,
    platform_metadata,
    raw_table,
    staging_table,
)
from order_platform.warehouse.writes.mssql_bulk import can_bulk_copy, replace_by_bulk_copy
from order_platform.warehouse.writes.raw_limits import check_raw_column_count, check_sql_server_raw_limits
from order_platform.warehouse.writes.rows import frame_columns, frame_rows, iter_frame_rows
from order_platform.warehouse.writes.sqlite_bulk import scratch_image
from order_platform.warehouse.writes.sqlite_ddl import raw_table_sql, staging_table_sql

SQLITE_MAX_COLUMNS = 2000  # SQLITE_MAX_COLUMN as Python's sqlite3 is built


@dataclass(frozen=True)
class LoadRecord:
    load_id: str
    customer: str
    source_path: str
    source_version: str | None
    content_hash: str | None
    started_at: datetime


@dataclass(frozen=True)
class Published:
    rows: int
    changes: ChangeSummary


class PublishMismatch(Exception):
    """ORDER_LIST would not hold exactly the staged rows after the swap; the transaction was rolled back."""

    def __init__(self, staged: int, published: int) -> None:
        super().__init__(f"ORDER_LIST would hold {published} rows but {staged} were staged; publish rolled back")
        self.staged = staged
        self.published = published


class OrderStore(StoreReads):
    """The platform's tables in one database (SQLite or SQL Server); the reads for checks, summaries
    and the monday.com sync are in store_reads.py."""

    def __init__(self, engine: sa.Engine, schema: OrderListSchema) -> None:
        self.engine = engine
        self.schema = schema
        self.metadata = platform_metadata(schema)
        self.order_list = self.metadata.tables[ORDER_LIST]
        self.quarantine = self.metadata.tables[QUARANTINE]
        self.loads = self.metadata.tables[LOADS]
        self.cell_issues = self.metadata.tables[CELL_ISSUES]
        self.date_order = self.metadata.tables[DATE_ORDER]
        self.changes = self.metadata.tables[CHANGES]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ensure_tables(self) -> None:
        self.metadata.create_all(self.engine)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Columns added to a fixed table since it was created (all nullable): `ALTER TABLE ... ADD`, so a
        database created by an earlier version keeps working (e.g. ORDER_LIST's _CELL_ISSUES)."""
        inspector = sa.inspect(self.engine)
        with self.engine.begin() as conn:
            for table in self.metadata.sorted_tables:
                try:
                    present = {c["name"] for c in inspector.get_columns(table.name)}
                except sa.exc.NoSuchTableError:  # not visible to this login: create_all has nothing to add
                    continue
                for column in table.columns:
                    if column.name not in present and column.nullable and not column.primary_key:
                        kind = column.type.compile(dialect=self.engine.dialect)
                        conn.exec_driver_sql(
                            f"ALTER TABLE {self._quote(table.name)} ADD {self._quote(column.name)} {kind}"
                        )

    # -- bulk helpers -------------------------------------------------------------------------
    def _insert(
        self, conn: sa.Connection, table: str, frame: pd.DataFrame, columns: list[str] | None = None
    ) -> None:
        """Insert `frame`'s `columns` (default: all of them)."""
        names = [str(c) for c in frame.columns] if columns is None else columns
        if frame.empty or not names:
            return
        conn.exec_driver_sql(self._insert_sql(table, names), frame_rows(frame, self.dialect, names))

    def _insert_sql(self, table: str, columns: list[str]) -> str:
        """`INSERT INTO table (columns) VALUES (?, ...)`, the driver binding one row per execution."""
        cols = ", ".join(self._quote(c) for c in columns)
        return f"INSERT INTO {self._quote(table)} ({cols}) VALUES ({', '.join('?' for _ in columns)})"

    def _replace_table(self, table: sa.Table, frame: pd.DataFrame) -> None:
        """Replace `table` with `frame`'s rows in one transaction (readers see old or new); the frame's
        columns of the table's names are written, in the table's order (other columns are left out)."""
        name = table.name
        columns = [c.name for c in table.columns]
        with self.engine.connect() as conn:
            if self.dialect == "mssql" and len(frame) and can_bulk_copy(conn):
                rows = iter_frame_rows(frame, self.dialect, columns)
                replace_by_bulk_copy(conn, table, columns, rows, len(frame))
            else:
                table.drop(conn, checkfirst=True)
                table.create(conn)
                self._insert(conn, name, frame, columns)
                conn.commit()

    def _replace_sqlite_table(self, table: str, create: str, columns: list[str], frame: pd.DataFrame) -> None:
        """Replace SQLite's `table` (made by `create`, of `columns`) with `frame`'s rows in one transaction.

        Rows are bound outside the database (see sqlite_bulk), so its write lock is held only for a
        C-speed INSERT ... SELECT; several processes can load customers side by side."""
        image = scratch_image(create, self._insert_sql(table, columns), iter_frame_rows(frame, self.dialect, columns))
        with self.engine.connect() as conn:
            self._swap_in_scratch(conn, self._quote(table), create, image)

    def _swap_in_scratch(self, conn: sa.Connection, name: str, create: str, image: bytes) -> None:
        """Drop, create and fill table `name` from the scratch image's copy, one transaction."""
        conn.exec_driver_sql("ATTACH DATABASE ':memory:' AS scratch")
        try:
            driver = conn.connection.dbapi_connection
            assert driver is not None  # a checked-out connection always has its driver connection
            driver.deserialize(image, name="scratch")
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS main.{name}")  # unqualified could mean scratch
            conn.exec_driver_sql(create)
            conn.exec_driver_sql(f"INSERT INTO main.{name} SELECT * FROM scratch.{name}")
            conn.commit()
        finally:
            conn.rollback()
            conn.exec_driver_sql("DETACH DATABASE scratch")

    def table_exists(self, name: str) -> bool:
        return sa.inspect(self.engine).has_table(name)

    # -- raw ------------------------------------------------------------------------------------
    def write_raw(self, name: str, headers: list[str], raw: pd.DataFrame) -> None:
        """Replace the customer's raw table: every header as text plus source lineage."""
        clash = set(headers) & set(RAW_LINEAGE)
        if clash:
            raise ValueError(f"workbook headers {sorted(clash)} collide with the raw table's lineage columns")
        if self.dialect == "mssql":
            check_sql_server_raw_limits(headers, raw)
        elif self.dialect == "sqlite":
            check_raw_column_count(headers, raw, SQLITE_MAX_COLUMNS, "SQLite")
        if self.dialect == "sqlite":  # its CREATE TABLE from column definitions compiled once (sqlite_ddl)
            self._replace_sqlite_table(name, *raw_table_sql(name, headers), raw)
        else:
            self._replace_table(raw_table(name, headers), raw)

    def read_raw(self, name: str) -> tuple[pd.DataFrame, list[str]]:
        frame = self._read(f"SELECT * FROM {self._quote(name)}")
        headers = [c for c in frame.columns if c not in RAW_LINEAGE]
        frame["_SOURCE_ROW"] = frame["_SOURCE_ROW"].astype("int64")
        return frame, headers

    # -- staging --------------------------------------------------------------------------------
    def write_staging(self, name: str, staged: pd.DataFrame) -> None:
        canonical = [
            c
            for c in staged.columns
            if c in self.schema.by_name and c not in (KEY_COLUMN, SOURCE_TABLE_COLUMN)
        ]
        if self.dialect == "sqlite":  # its CREATE TABLE from column definitions compiled once (sqlite_ddl)
            self._replace_sqlite_table(name, *staging_table_sql(name, self.schema, canonical), staged)
        else:
            self._replace_table(staging_table(name, self.schema, canonical), staged)

    def read_staging(self, name: str) -> pd.DataFrame:
        return self._read(f"SELECT * FROM {self._quote(name)} ORDER BY {self._quote('_SOURCE_ROW')}")

    def staging_columns(self, name: str) -> list[str]:
        return [c["name"] for c in sa.inspect(self.engine).get_columns(name)]

    # -- publish ----------------------------------------------------------------------------------
    def publish(
        self,
        record: LoadRecord,
        source_table: str,
        staging_name: str,
        quarantine: pd.DataFrame,
        counts: dict[str, int],
        unknown_headers: list[str],
        *,
        cell_issues: pd.DataFrame | None = None,
        date_order: DateOrder | None = None,
        notes: list[str] | None = None,
    ) -> Published:
        """Swap the customer's ORDER_LIST slice for the staging table's rows, in one transaction, with what
        changed since its last published load (ORDER_LIST_CHANGES), its quarantine, its cell issues and the
        day/month order its text dates were read in."""
        staged_columns = self.staging_columns(staging_name)
        columns = ", ".join(self._quote(c) for c in staged_columns)
        order_list = self._quote(ORDER_LIST)
        change = SliceChange(
            record.customer, record.load_id, source_table, staging_name, staged_columns, datetime.now()
        )
        tables = {"order_list": self.order_list, "changes": self.changes, "loads": self.loads}
        with self.engine.begin() as conn:
            # first, while the old slice is there (its first statement takes SQLite's write lock)
            changes = record_changes(conn, self.schema, tables, change)
            conn.execute(
                sa.delete(self.order_list).where(self.order_list.c[SOURCE_TABLE_COLUMN] == source_table)
            )
            conn.exec_driver_sql(
                f"INSERT INTO {order_list} ({columns}) SELECT {columns} FROM {self._quote(staging_name)}"
            )
            published = conn.execute(
                sa.select(sa.func.count())
                .select_from(self.order_list)
                .where(self.order_list.c[SOURCE_TABLE_COLUMN] == source_table)
            ).scalar_one()
            if published != counts["staged_rows"]:  # raising here rolls the swap back: the old slice stays
                raise PublishMismatch(counts["staged_rows"], int(published))
            self._replace_quarantine(conn, record, quarantine)
            problems = self._replace_cell_issues(conn, record, cell_issues)
            if date_order is not None and date_order.remember:
                remember_date_order(conn, self.date_order, record.customer, record.load_id, date_order)
            extra = {
                "cell_issues": problems,
                "date_order": date_order.order if date_order is not None else None,
                "notes": json.dumps(notes or [], ensure_ascii=False),
                "staged_columns": json.dumps(
                    [c for c in staged_columns if c != KEY_COLUMN and not c.startswith("_")], ensure_ascii=False
                ),
            }
            counts = counts | {"published_rows": published}
            self._log_load(conn, record, "published", counts, unknown_headers, extra=extra)
        return Published(int(published), changes)

    def _replace_cell_issues(self, conn: sa.Connection, record: LoadRecord, issues: pd.DataFrame | None) -> int:
        """Replace the customer's cell issues; returns how many are problems (placeholders not counted)."""
        conn.execute(sa.delete(self.cell_issues).where(self.cell_issues.c.customer == record.customer))
        if issues is None or not len(issues):
            return 0
        columns = [c.name for c in self.cell_issues.columns if c.name in issues.columns]
        self._insert_for_load(conn, CELL_ISSUES, record, issues, columns)
        return int((~issues["reason_code"].isin(NOT_A_PROBLEM)).sum())

    def remembered_date_order(self, customer: str) -> str | None:
        """The day/month order (DMY | MDY) the customer's text dates were last read in, if any."""
        return remembered_date_order(self.engine, self.date_order, customer)

    def _replace_quarantine(self, conn: sa.Connection, record: LoadRecord, quarantine: pd.DataFrame) -> None:
        conn.execute(sa.delete(self.quarantine).where(self.quarantine.c.customer == record.customer))
        if len(quarantine):
            self._insert_for_load(conn, QUARANTINE, record, quarantine, [str(c) for c in quarantine.columns])

    def _insert_for_load(
        self, conn: sa.Connection, table: str, record: LoadRecord, frame: pd.DataFrame, columns: list[str]
    ) -> None:
        """Insert `frame`'s `columns` after the record's customer and load id, its `value` (the cell as
        written) as text. Built from the columns: a copy of a small frame costs more than its rows."""
        cells = frame_columns(frame, self.dialect, columns)
        at = columns.index("value")
        cells[at] = [None if v is None or v != v else str(v) for v in frame["value"].tolist()]
        rows = len(frame)
        sql = self._insert_sql(table, ["customer", "load_id", *columns])
        conn.exec_driver_sql(sql, list(zip([record.customer] * rows, [record.load_id] * rows, *cells, strict=True)))

    def _log_load(
        self,
        conn: sa.Connection,
        record: LoadRecord,
        status: str,
        counts: dict[str, int],
        unknown_headers: list[str] | None = None,
        error: str | None = None,
        extra: dict | None = None,
    ) -> None:
        conn.execute(
            sa.insert(self.loads).values(
                load_id=record.load_id,
                customer=record.customer,
                source_path=record.source_path,
                source_version=record.source_version,
                content_hash=record.content_hash,
                status=status,
                started_at=record.started_at,
                finished_at=datetime.now(),
                unknown_headers=json.dumps(unknown_headers or [], ensure_ascii=False),
                error=error,
                **{k: int(v) for k, v in counts.items() if k in self.loads.c},
                **(extra or {}),
            )
        )

    def record_failure(self, record: LoadRecord, error: str, counts: dict[str, int] | None = None) -> None:
        self.record_outcome(record, "failed", error, counts)

    def record_outcome(
        self, record: LoadRecord, status: str, message: str, counts: dict[str, int] | None = None
    ) -> None:
        """A load-log row without a publish: failed, source_removed, retired (message in `error`)."""
        with self.engine.begin() as conn:
            self._log_load(conn, record, status, counts or {}, error=message)

    def record_unchanged(self, record: LoadRecord) -> None:
        """A workbook touched (new version) with the same content: noted once, so it is not detected again."""
        with self.engine.begin() as conn:
            self._log_load(conn, record, "unchanged", {})


def raw_frame(
    sheet_columns: dict[str, list], row_numbers: list[int], file_name: str, sheet: str, loaded_at: datetime
) -> pd.DataFrame:
    """The raw layer as a frame: text per header plus lineage, in sheet order.

    The text columns are laid out as the one 2-D object block pandas keeps them in, so the frame is
    built without a Series per column and without pandas copying them together (`np.fromiter` does not
    look into each cell for a nested sequence, as `np.array` of a list does: ~4x faster)."""
    shape = (len(sheet_columns), len(row_numbers))
    if any(len(values) != shape[1] for values in sheet_columns.values()):
        raise ValueError("every raw column needs one cell per row number")
    cells = chain.from_iterable(sheet_columns.values())
    block = np.fromiter(cells, dtype=object, count=shape[0] * shape[1]).reshape(shape)
    frame = pd.DataFrame(block.T, columns=list(sheet_columns), dtype=object, copy=False)
    frame["_SOURCE_FILE"] = file_name
    frame["_SOURCE_SHEET"] = sheet
    frame["_SOURCE_ROW"] = np.asarray(row_numbers, dtype="int64")
    frame["_LOADED_AT"] = loaded_at.replace(microsecond=0).isoformat(sep=" ")
    return frame
