"""Which order lines a sync reads: line sources, board scopes and the target of a targeted sync.

A source yields one board's lines chunk by chunk (`sync.chunk_lines`), so a sync holds one chunk in
memory, never the slice (a refresh prepares customers' lines while it loads, up to a bound of lines:
plan/prepared.py, defs/monday/preparation.py):
- `FrameSource`: a DataFrame (tests, the bench), filtered in pandas;
- `StoreSource`: a customer's published ORDER_LIST slice, filtered in SQL and read with the
  driver's own values (no per-value type conversion); the 245 size columns, nearly all blank, come
  back as one text per line ("XS\x1f12\x1eS\x1f24\x1e", built in SQL) instead of 245 values.
A line goes to the first board whose scope takes it (scopes: mapping.BoardScope).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import pandas as pd
import sqlalchemy as sa

from order_platform.monday.mapping import BoardConfig, BoardScope, size_columns
from order_platform.workers.collector import paused

TARGET_COLUMNS = {"po_number": "PO NUMBER", "aag_season": "AAG SEASON", "customer_season": "CUSTOMER SEASON"}
CELL_SEP = "\x1e"  # after each size value in the packed text (never in a value)
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

    def __init__(self, store: Any, customer: str, load_id: str, source_table: str, rows: int | None = None) -> None:
        self.store, self.customer, self._rows = store, customer, rows
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
        selected: list[Any] = [sa.type_coerce(table.c[c], sa.types.NULLTYPE) for c in plain]  # driver values as is
        engine = self.store.engine
        packed = engine.dialect.name == "sqlite"
        if size_names and packed:
            quoted = tuple(engine.dialect.identifier_preparer.quote(n) for n in size_names)
            selected.append(sa.literal_column(_sizes_sql(quoted), sa.types.NULLTYPE).label(SIZES_TEXT))
        else:
            selected += [sa.type_coerce(table.c[c], sa.types.NULLTYPE) for c in size_names]
        query = sa.select(*selected).where(*self.where(config, index, customer, target))
        compiled = query.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
        bound = compiled.params
        params = [bound[k] for k in compiled.positiontup or []]
        with engine.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            try:
                cursor.execute(str(compiled), params)
                while chunk := _fetch(cursor, config.sync.chunk_lines, plain, size_names, packed):
                    yield chunk
            finally:
                cursor.close()

    def total(self) -> int:
        if self._rows is not None:  # counted when the slice was published
            return self._rows
        with self.store.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(self.table).where(*self.slice)).scalar())


@lru_cache(maxsize=8)
def _sizes_sql(quoted: tuple[str, ...]) -> str:
    """SQLite: the size cells of a line as one text, each followed by CELL_SEP (blank: nothing)."""
    groups = [quoted[i : i + 100] for i in range(0, len(quoted), 100)]  # SQLite: at most 127 arguments
    return " || ".join("printf('" + ("%s" + CELL_SEP) * len(g) + "', " + ", ".join(g) + ")" for g in groups)


def _fetch(cursor: Any, size: int, names: list[str], sizes: list[str], packed: bool) -> RawLines | None:
    """The next chunk, or None. The cycle collector is paused meanwhile: millions of fresh acyclic
    objects would trigger full collections for nothing."""
    with paused():
        rows = cursor.fetchmany(size)
        return _raw_lines(rows, names, sizes, packed) if rows else None


def _raw_lines(rows: list[Any], names: list[str], sizes: list[str], packed: bool) -> RawLines:
    """Driver rows -> RawLines. Size values come last: one packed text (SQLite) or one per size."""
    columns = list(zip(*rows, strict=True)) if rows else []
    values = {name: list(column) for name, column in zip(names, columns, strict=False)}
    cells: list[tuple[int, str, Any]] = []
    if sizes and columns:
        if packed:
            empty = len(sizes)
            for position, text in enumerate(columns[-1]):
                if text and len(text) > empty:
                    consumed = 0
                    for match in _FIELD.finditer(text):
                        cells.append((position, sizes[match.start() - consumed], match.group()))
                        consumed += match.end() - match.start()
        else:
            for size, column in zip(sizes, columns[len(names) :], strict=True):
                cells.extend((p, size, v) for p, v in enumerate(column) if v is not None)
            cells.sort(key=lambda cell: cell[0])  # row order, sizes in schema order within a row
    return RawLines(len(rows), values, cells)


_FIELD = re.compile(f"[^{CELL_SEP}]+")


def store_source(store: Any, customer: str, published: tuple[str, int] | None = None) -> StoreSource | None:
    """The customer's published slice as a source; None when it was never published. `published`: the
    slice's load id and row count, when the caller has them from the publish (a load report of this run),
    so that neither the load log is read nor the slice counted."""
    from order_platform.staging.customers import raw_table_name

    if published is not None:
        load_id, rows = published
        return StoreSource(store, customer, load_id, raw_table_name(customer), rows=rows)
    load = store.last_load(customer, "published")
    if load is None:
        return None
    return StoreSource(store, customer, load["load_id"], raw_table_name(customer))
