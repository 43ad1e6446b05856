"""Which order lines a sync reads: line sources, board scopes and the target of a targeted sync.

A source yields one board's lines chunk by chunk (`sync.chunk_lines`), so a sync holds one chunk in
memory, never the slice:
- `FrameSource`: a DataFrame (tests, the bench), filtered in pandas;
- `StoreSource`: a customer's published ORDER_LIST slice, filtered in SQL and read with the
  driver's own values (no per-value type conversion); the 245 size columns, nearly all blank, come
  back as one text per line ("XS\x1f12\x1eS\x1f24\x1e", built in SQL) instead of 245 values.
A line goes to the first board whose scope takes it (scopes: mapping.BoardScope).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import pandas as pd
import sqlalchemy as sa

from order_platform.monday.mapping import BoardConfig, BoardScope, size_columns

TARGET_COLUMNS = {"po_number": "PO NUMBER", "aag_season": "AAG SEASON", "customer_season": "CUSTOMER SEASON"}
SIZE_SEP, CELL_SEP = "\x1f", "\x1e"  # size name / quantity, one size / the next (never in size names)
SIZES_TEXT = "_SIZES"


class TargetError(ValueError):
    """A targeted sync without any filter."""


@dataclass(frozen=True)
class Target:
    """A targeted sync of one customer: its PO, AAG season and/or customer season (at least one).

    A targeted sync creates and updates the lines it selects and archives nothing (a full sync does)."""

    po_number: str | None = None
    aag_season: str | None = None
    customer_season: str | None = None

    def __post_init__(self) -> None:
        if not self.where():
            raise TargetError("a targeted sync needs at least one of: PO number, AAG season, customer season")

    def where(self) -> dict[str, str]:
        """ORDER_LIST column -> wanted value (compared trimmed, any case)."""
        values = {"po_number": self.po_number, "aag_season": self.aag_season, "customer_season": self.customer_season}
        return {TARGET_COLUMNS[k]: v for k, v in values.items() if v is not None and v.strip()}

    def describe(self) -> str:
        return ", ".join(f"{k} = {v!r}" for k, v in self.where().items())


@dataclass
class RawLines:
    """Lines as driver values per column (what build_payloads reads) and the filled size cells."""

    count: int
    values: dict[str, list[Any]]
    size_cells: list[tuple[int, str, Any]] = field(default_factory=list)  # (row, size, value), row order

    def __len__(self) -> int:
        return self.count


Chunk = pd.DataFrame | RawLines


class LineSource(Protocol):
    def chunks(
        self, config: BoardConfig, index: int, customer: str, target: Target | None, columns: list[str]
    ) -> Iterable[Chunk]:
        """Board `index`'s lines (in its scope and no earlier board's, and in the target), in chunks."""
        ...

    def total(self) -> int:
        """Lines of the whole slice (in scope or not)."""
        ...


def needed_columns(config: BoardConfig) -> list[str]:
    """ORDER_LIST columns a sync reads: line id, mapped columns, name parts, scope columns, sizes."""
    knobs = config.sync
    names = [knobs.external_id_column.source, *(c.order_list_column for c in config.item_columns)]
    names += [c for part in knobs.item_name.parts + knobs.group_name.parts for c in part]
    names += [*TARGET_COLUMNS.values(), "ORDER TYPE", *size_columns()]
    return list(dict.fromkeys(names))


class FrameSource:
    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def chunks(
        self, config: BoardConfig, index: int, customer: str, target: Target | None, columns: list[str]
    ) -> Iterator[Chunk]:
        mine = for_board(self.frame, config, index, customer, target)
        for start in range(0, len(mine), config.sync.chunk_lines):
            yield mine.iloc[start : start + config.sync.chunk_lines]

    def total(self) -> int:
        return len(self.frame)


def as_source(lines: pd.DataFrame | LineSource) -> LineSource:
    return FrameSource(lines) if isinstance(lines, pd.DataFrame) else lines


def _matches(frame: pd.DataFrame, column: str, accepted: frozenset[str]) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(False, index=frame.index)
    values = frame[column].astype("string").str.strip().str.upper()
    return values.isin(accepted).fillna(False).astype(bool)


def select(frame: pd.DataFrame, scope: BoardScope, target: Target | None) -> pd.DataFrame:
    """The rows of `frame` in the scope (and the target, when given)."""
    keep = pd.Series(True, index=frame.index)
    for column, accepted in scope.columns().items():
        keep &= _matches(frame, column, accepted)
    for column, value in (target.where() if target else {}).items():
        keep &= _matches(frame, column, frozenset({value.strip().upper()}))
    return frame if bool(keep.all()) else frame[keep.to_numpy()]


def for_board(
    frame: pd.DataFrame, config: BoardConfig, index: int, customer: str, target: Target | None
) -> pd.DataFrame:
    """The rows of `frame` that go to board `index`: in its scope and in no earlier board's scope."""
    boards = config.boards
    if not boards[index].scope.takes_customer(customer):
        return frame.iloc[0:0]
    mine = select(frame, boards[index].scope, target)
    for earlier in boards[:index]:
        if earlier.scope.takes_customer(customer) and len(mine):
            taken = set(select(mine, earlier.scope, None).index)
            mine = mine[~mine.index.isin(taken)]
    return mine


class StoreSource:
    """A customer's published ORDER_LIST slice (the warehouse Store), read in SQL chunks."""

    def __init__(self, store: Any, customer: str, load_id: str, source_table: str) -> None:
        self.store, self.customer = store, customer
        table = store.order_list
        self.table = table
        self.slice = [table.c["_SOURCE_TABLE"] == source_table, table.c["_LOAD_ID"] == load_id]

    def _column(self, name: str) -> Any:
        return sa.func.upper(sa.func.trim(sa.func.coalesce(self.table.c[name], "")))

    def _in(self, scope: BoardScope) -> Any:
        filters = [self._column(c).in_(sorted(v)) for c, v in scope.columns().items() if c in self.table.c]
        missing = [c for c in scope.columns() if c not in self.table.c]
        return sa.false() if missing else sa.and_(sa.true(), *filters)

    def where(self, config: BoardConfig, index: int, customer: str, target: Target | None) -> list[Any]:
        boards = config.boards
        if not boards[index].scope.takes_customer(customer):
            return [sa.false()]
        clauses = [*self.slice, self._in(boards[index].scope)]
        clauses += [sa.not_(self._in(b.scope)) for b in boards[:index] if b.scope.takes_customer(customer)]
        for column, value in (target.where() if target else {}).items():
            clauses.append(self._column(column) == value.strip().upper())
        return clauses

    def chunks(
        self, config: BoardConfig, index: int, customer: str, target: Target | None, columns: list[str]
    ) -> Iterator[Chunk]:
        table, sizes = self.table, set(size_columns())
        plain = [c for c in dict.fromkeys(columns) if c in table.c and c not in sizes]
        size_names = [c for c in size_columns() if c in columns and c in table.c]
        selected = [sa.type_coerce(table.c[c], sa.types.NULLTYPE) for c in plain]  # driver values as they are
        if size_names:
            selected.append(_sizes_text(table, size_names, self.store.engine.dialect))
        query = sa.select(*selected).where(*self.where(config, index, customer, target))
        engine = self.store.engine
        compiled = query.compile(dialect=engine.dialect)
        bound = compiled.params
        params = [bound[k] for k in compiled.positiontup or []]
        with engine.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(str(compiled), params)
                while rows := cursor.fetchmany(config.sync.chunk_lines):
                    yield _raw_lines(rows, plain, bool(size_names))
            finally:
                cursor.close()

    def total(self) -> int:
        with self.store.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(self.table).where(*self.slice)).scalar())


@lru_cache(maxsize=8)
def _sizes_sql(dialect: str, quoted: tuple[str, ...], names: tuple[str, ...]) -> str:
    """SQL for one text per line: each filled size as name SIZE_SEP quantity CELL_SEP (schema order)."""
    concat = "||" if dialect == "sqlite" else "+"
    text = "NVARCHAR(40)" if dialect == "mssql" else "VARCHAR(40)"
    chars = "CHAR(31)", "CHAR(30)"  # SIZE_SEP, CELL_SEP
    parts = [
        f"COALESCE('{name.replace(chr(39), chr(39) * 2)}' {concat} {chars[0]} {concat} CAST({column} AS {text}) "
        f"{concat} {chars[1]}, '')"
        for name, column in zip(names, quoted, strict=True)
    ]
    return f" {concat} ".join(parts)


def _sizes_text(table: sa.Table, names: list[str], dialect: Any) -> Any:
    quoted = tuple(dialect.identifier_preparer.quote(n) for n in names)
    sql = _sizes_sql(dialect.name, quoted, tuple(names))
    return sa.literal_column(sql, sa.types.NULLTYPE).label(SIZES_TEXT)


def _raw_lines(rows: list[Any], names: list[str], with_sizes: bool) -> RawLines:
    columns = list(zip(*rows, strict=True)) if rows else []
    values = {name: list(column) for name, column in zip(names, columns, strict=False)}
    cells: list[tuple[int, str, Any]] = []
    if with_sizes and columns:
        for position, text in enumerate(columns[-1]):
            if text:
                for cell in text.split(CELL_SEP)[:-1]:
                    size, _, quantity = cell.partition(SIZE_SEP)
                    cells.append((position, size, quantity))
    return RawLines(len(rows), values, cells)


def store_source(store: Any, customer: str) -> StoreSource | None:
    """The customer's published slice as a source; None when it was never published."""
    from order_platform.staging.customers import raw_table_name

    load = store.last_load(customer, "published")
    if load is None:
        return None
    return StoreSource(store, customer, load["load_id"], raw_table_name(customer))
