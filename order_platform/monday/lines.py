"""Which order lines a sync reads: the line source (a frame or chunks), board scopes and the target.

A source is a DataFrame or a callable `(columns) -> iterable of DataFrames` that can be called again
(each call reads the lines anew, chunk by chunk): a sync holds one chunk of lines in memory, never
the slice. `store_source` reads a customer's published ORDER_LIST slice in `chunk_lines` chunks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import pandas as pd

from order_platform.monday.mapping import BoardConfig, BoardScope, size_columns

Chunks = Callable[[list[str] | None], Iterable[pd.DataFrame]]
LineSource = pd.DataFrame | Chunks

TARGET_COLUMNS = {"po_number": "PO NUMBER", "aag_season": "AAG SEASON", "customer_season": "CUSTOMER SEASON"}


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


def needed_columns(config: BoardConfig) -> list[str]:
    """ORDER_LIST columns a sync reads: line id, mapped columns, name parts, scope columns, sizes."""
    knobs = config.sync
    names = [knobs.external_id_column.source, *(c.order_list_column for c in config.item_columns)]
    names += [c for part in knobs.item_name.parts + knobs.group_name.parts for c in part]
    names += [*TARGET_COLUMNS.values(), "ORDER TYPE", *size_columns()]
    return list(dict.fromkeys(names))


def chunks_of(source: LineSource, columns: list[str] | None, chunk_lines: int) -> Iterator[pd.DataFrame]:
    """The source's lines in chunks of at most `chunk_lines` (a frame is sliced)."""
    if isinstance(source, pd.DataFrame):
        for start in range(0, max(len(source), 1), chunk_lines):
            yield source.iloc[start : start + chunk_lines]
        return
    yield from source(columns)


def _matches(frame: pd.DataFrame, column: str, accepted: frozenset[str]) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(False, index=frame.index)
    values = frame[column].astype("string").str.strip().str.upper()
    return values.isin(accepted).fillna(False).astype(bool)


def select(frame: pd.DataFrame, scope: BoardScope, target: Target | None) -> pd.DataFrame:
    """The rows of `frame` in the board's scope (and the target, when given)."""
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


def store_source(store: object, customer: str, chunk_lines: int, target: Target | None = None) -> Chunks | None:
    """A source over the customer's published slice (warehouse Store.order_list_chunks); None: never
    published. A target is filtered in the database already."""
    if store.order_list_chunks(customer, 1, ["record_uuid"]) is None:  # type: ignore[attr-defined]
        return None

    def read(columns: list[str] | None) -> Iterable[pd.DataFrame]:
        where = target.where() if target else None
        chunks = store.order_list_chunks(customer, chunk_lines, columns, where)  # type: ignore[attr-defined]
        return chunks or []

    return read
