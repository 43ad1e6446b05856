"""The reads of the ORDER_LIST layers used by checks, summaries and the monday.com sync: load log,
published slices, cell issues, quarantine. Mixed into OrderStore (store.py), which owns the tables and
the writes."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import sqlalchemy as sa

from order_platform.schema import SOURCE_TABLE_COLUMN
from order_platform.staging.customers import raw_table_name
from order_platform.warehouse.tables import CELL_ISSUES, QUARANTINE


class StoreReads:
    """Reads over OrderStore's engine and tables (set by OrderStore.__init__)."""

    engine: sa.Engine
    order_list: sa.Table
    loads: sa.Table

    def _quote(self, name: str) -> str:
        return self.engine.dialect.identifier_preparer.quote(name)

    def _read(self, sql: str, params: dict | None = None) -> pd.DataFrame:
        with self.engine.connect() as conn:
            result = conn.execute(sa.text(sql), params or {})
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()), dtype=object)

    # -- reads for checks and summaries ---------------------------------------------------------
    def last_load(self, customer: str, status: str | None = None) -> dict | None:
        query = sa.select(self.loads).where(self.loads.c.customer == customer)
        if status:
            query = query.where(self.loads.c.status == status)
        query = query.order_by(self.loads.c.started_at.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return dict(row) if row else None

    def latest_loads(self) -> dict[str, dict]:
        """The most recent load of every customer (any status), for change detection and summaries."""
        latest = (
            sa.select(self.loads.c.customer, sa.func.max(self.loads.c.started_at).label("started_at"))
            .group_by(self.loads.c.customer)
            .subquery()
        )
        query = sa.select(self.loads).join(
            latest,
            sa.and_(
                self.loads.c.customer == latest.c.customer, self.loads.c.started_at == latest.c.started_at
            ),
        )
        with self.engine.connect() as conn:
            return {row["customer"]: dict(row) for row in conn.execute(query).mappings()}

    def loads_by_id(self, load_ids: list[str]) -> list[dict]:
        if not load_ids:
            return []
        query = sa.select(self.loads).where(self.loads.c.load_id.in_(load_ids)).order_by(self.loads.c.customer)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def published_count(self, source_table: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(self.order_list)
                    .where(self.order_list.c[SOURCE_TABLE_COLUMN] == source_table)
                ).scalar_one()
            )

    def order_list_slice(self, source_table: str) -> pd.DataFrame:
        with self.engine.connect() as conn:
            result = conn.execute(
                sa.select(self.order_list).where(self.order_list.c[SOURCE_TABLE_COLUMN] == source_table)
            )
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    def order_list_for_customer(self, customer: str) -> pd.DataFrame | None:
        """The customer's current ORDER_LIST slice in one frame; None: never published."""
        return next(chunks) if (chunks := self.order_list_chunks(customer, None)) else None

    def order_list_chunks(self, customer: str, chunk_size: int | None = 20_000) -> Iterator[pd.DataFrame] | None:
        """The customer's current slice (its latest published load) in frames of at most `chunk_size` lines
        (None: one), so a reader holds one chunk, not the slice; None: never published. Filtering on
        _SOURCE_TABLE too lets SQL Server seek the index instead of scanning ORDER_LIST."""
        if (load := self.last_load(customer, "published")) is None:
            return None
        table = self.order_list
        query = sa.select(table).where(
            table.c[SOURCE_TABLE_COLUMN] == raw_table_name(customer), table.c["_LOAD_ID"] == load["load_id"]
        )

        def frames() -> Iterator[pd.DataFrame]:
            with self.engine.connect() as conn:
                result = conn.execution_options(stream_results=True).execute(query)
                for rows in [result.fetchall()] if chunk_size is None else result.partitions(chunk_size):
                    yield pd.DataFrame(rows, columns=list(result.keys()))

        return frames()

    def cell_issues_for(self, customer: str) -> pd.DataFrame:
        return self._read(
            f"SELECT * FROM {self._quote(CELL_ISSUES)} WHERE customer = :c ORDER BY row_number, id",
            {"c": customer},
        )

    def quarantine_for(self, customer: str) -> pd.DataFrame:
        return self._read(
            f"SELECT * FROM {self._quote(QUARANTINE)} WHERE customer = :c ORDER BY row_number",
            {"c": customer},
        )
