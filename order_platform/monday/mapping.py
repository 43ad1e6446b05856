"""The board mapping as data: order_platform/config/monday_board.json parsed into typed config.

Nothing here talks to monday.com; the file is the single place that says which ORDER_LIST column
feeds which board column, how items, groups and subitems are named, and every sync knob.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from order_platform.config.loading import (
    PACKAGED,
    ConfigFileError,
    StrictModel,
    read_config_file,
    read_packaged_config,
)
from order_platform.monday.seasons import SeasonCalendar
from order_platform.schema import order_list_schema

BOARD_CONFIG_FILE = "monday_board.json"

MondayType = Literal["text", "numbers", "date", "dropdown", "long_text", "status"]


DEFAULT_API_VERSION = "2026-10"  # monday.com's current version on 2026-11-30 (2026-07: maintenance)
BOARD_ITEM_LIMIT = 10_000  # monday.com: a board holds at most 10,000 items


class BoardScope(StrictModel):
    """Which order lines go to a board: a line is in scope when it matches every filter that is set
    (values compared trimmed and upper-cased; an unset filter matches everything).

    `open_seasons: N` follows the calendar: the AAG seasons are the one shipping today and the N-1
    after it (`season_calendar` of the mapping), resolved for the day of the run (`BoardConfig.on`);
    `aag_seasons` pins them instead. Not both."""

    customers: list[str] | None = None  # canonical customer names (partition keys)
    order_types: list[str] | None = None  # ORDER TYPE
    aag_seasons: list[str] | None = None  # AAG SEASON (pinned, or resolved from open_seasons)
    customer_seasons: list[str] | None = None  # CUSTOMER SEASON
    open_seasons: int | None = Field(default=None, ge=1)  # the current AAG season and the ones after it
    seasons_on: dt.date | None = None  # the day open_seasons was resolved for (set by BoardConfig.on)

    @model_validator(mode="after")
    def _pinned_or_calendar(self) -> BoardScope:
        if self.open_seasons is not None and self.aag_seasons is not None and self.seasons_on is None:
            raise ValueError(
                "board scope: pin the seasons with `aag_seasons` or follow the calendar with `open_seasons`, not both"
            )
        return self

    def on(self, day: dt.date, calendar: SeasonCalendar) -> BoardScope:
        """This scope on `day`: its open seasons resolved to AAG SEASON values (pinned scopes as they are)."""
        if self.open_seasons is None:
            return self
        seasons = calendar.open_seasons(day, self.open_seasons)
        return self.model_copy(update={"aag_seasons": seasons, "seasons_on": day})

    def columns(self) -> dict[str, frozenset[str]]:
        """ORDER_LIST column -> accepted values, for the filters that are set (customers excluded)."""
        if self.open_seasons is not None and self.seasons_on is None:  # not resolved: for today
            return self.on(dt.date.today(), SeasonCalendar()).columns()
        pairs = {
            "ORDER TYPE": self.order_types,
            "AAG SEASON": self.aag_seasons,
            "CUSTOMER SEASON": self.customer_seasons,
        }
        return {k: frozenset(v.strip().upper() for v in vs) for k, vs in pairs.items() if vs is not None}

    def takes_customer(self, customer: str) -> bool:
        return self.customers is None or customer.strip().upper() in {c.strip().upper() for c in self.customers}

    def describe(self) -> str:
        parts = [f"{k} in {sorted(v)}" for k, v in self.columns().items()]
        if self.customers is not None:
            parts.insert(0, f"customer in {sorted(self.customers)}")
        text = " and ".join(parts) or "every line"
        if self.open_seasons is not None:
            text += f" (the {self.open_seasons} open AAG season(s) on {self.seasons_on or dt.date.today()})"
        return text


class BoardIds(StrictModel):
    id: str
    name: str = ""
    subitems_board_id: str | None = None
    # Items the board may hold (monday.com: 10,000); the sync refuses a plan that would exceed it.
    item_limit: int = BOARD_ITEM_LIMIT
    # monday.com counts archived items against the limit (they stay on the board, in its archive): an
    # archive frees no room. False when the board's items are deleted instead (or the plan allows it).
    archived_items_count: bool = True
    scope: BoardScope = Field(default_factory=BoardScope)


class ItemColumn(StrictModel):
    order_list_column: str
    monday_column_id: str
    monday_type: MondayType
    # A column the team may override on the board: set on create and when ORDER_LIST changes it, but a
    # person's edit is only recorded by `reconcile-board` (MONDAY_DRIFT, action `reported`), never restored.
    report_only: bool = False


class SubitemColumn(StrictModel):
    field: Literal["size", "order_qty"]
    monday_column_id: str
    monday_type: MondayType


class NameRule(StrictModel):
    """Name = the non-blank parts joined by `separator`; each part is the first non-blank column."""

    parts: list[list[str]]
    separator: str = " "
    max_chars: int = 255


class ExternalIdColumn(StrictModel):
    monday_column_id: str = "text_line_id"
    monday_type: Literal["text"] = "text"
    title: str = "ORDER LINE ID"
    source: str = "record_uuid"
    create_if_missing: bool = True


class Batching(StrictModel):
    mutations_per_request: int = 100
    # An ambiguous batch (dropped answer, 5xx, timeout) that repeats is split in halves down to this.
    min_mutations_per_request: int = 1
    max_complexity_per_request: int = 2_500_000
    lookup_values_per_request: int = 100
    lookup_page_limit: int = 500
    parents_per_subitem_lookup: int = 100


class Complexity(StrictModel):
    budget_per_minute: int = 10_000_000
    window_seconds: float = 60.0
    estimated_mutation_cost: int = 10_000
    estimated_query_cost: int = 20_000
    safety_margin_points: int = 50_000


class Retry(StrictModel):
    max_attempts: int = 6
    backoff_base_seconds: float = 1.0
    backoff_max_seconds: float = 60.0
    jitter_fraction: float = 0.5
    timeout_seconds: float = 60.0
    max_rate_limit_waits: int = 30
    # The sync stops (the next run resumes) after this many ambiguous batches in a row with no operation
    # completed in between, at the smallest batch: monday.com is not answering. While operations
    # complete, ambiguity never stops it.
    abort_after_consecutive_failures: int = 3


class SyncKnobs(StrictModel):
    api_version: str = DEFAULT_API_VERSION
    external_id_column: ExternalIdColumn = Field(default_factory=ExternalIdColumn)
    item_name: NameRule
    group_name: NameRule
    subitem_name_template: str = "Size {size}"
    # "delete": a size whose quantity drops to 0/blank loses its subitem (the board shows sizes > 0 only).
    size_removed_policy: Literal["delete"] = "delete"
    # "archive": a line gone from ORDER_LIST (cancelled) has its item archived (recoverable in monday).
    cancelled_line_policy: Literal["archive"] = "archive"
    # Refuse to archive more than this fraction of a customer's live lines in one run (empty-slice guard).
    archive_guard_fraction: float = 0.5
    long_text_max_chars: int = 2000
    # ORDER_LIST lines read per chunk: the sync's memory is bounded by one chunk, not the slice.
    chunk_lines: int = 5_000
    batching: Batching = Field(default_factory=Batching)
    complexity: Complexity = Field(default_factory=Complexity)
    requests_per_minute: int = 1000
    retry: Retry = Field(default_factory=Retry)
    payload_sample_size: int = 5


class BoardConfig(StrictModel):
    board: BoardIds  # the first board; `extra_boards` when the order book does not fit one
    extra_boards_note: str | None = None  # for people, like `note`
    extra_boards: list[BoardIds] = Field(default_factory=list)
    item_columns: list[ItemColumn]
    subitem_columns: list[SubitemColumn]
    sync: SyncKnobs
    # The AAG seasons' delivery windows: which seasons a scope with `open_seasons` takes on a day.
    season_calendar: SeasonCalendar = Field(default_factory=SeasonCalendar)

    @property
    def boards(self) -> list[BoardIds]:
        """Every board, in order: a line goes to the first whose scope takes it."""
        return [self.board, *self.extra_boards]

    def on(self, day: dt.date) -> BoardConfig:
        """This mapping on `day`: every scope that follows the calendar resolved to that day's seasons."""
        boards = [b.model_copy(update={"scope": b.scope.on(day, self.season_calendar)}) for b in self.boards]
        return self.with_boards(*boards)

    def with_boards(self, *boards: BoardIds) -> BoardConfig:
        """A copy whose boards are `boards` (the first is `board`)."""
        return self.model_copy(update={"board": boards[0], "extra_boards": list(boards[1:])})

    def with_scope(self, scope: BoardScope | None = None, **filters: Any) -> BoardConfig:
        """A copy whose first board has this scope (`BoardScope()`: every line)."""
        new = scope or BoardScope(**filters)
        return self.model_copy(update={"board": self.board.model_copy(update={"scope": new})})

    @property
    def size_column(self) -> SubitemColumn:
        return next(c for c in self.subitem_columns if c.field == "size")

    @property
    def qty_column(self) -> SubitemColumn:
        return next(c for c in self.subitem_columns if c.field == "order_qty")

    @property
    def external_id(self) -> ExternalIdColumn:
        return self.sync.external_id_column

    def with_knobs(self, **changes: Any) -> BoardConfig:
        """A copy with some `sync` knobs replaced (tests and the bench tune batch sizes, budgets...)."""
        return self.model_copy(update={"sync": self.sync.model_copy(update=changes)})


BOARD_CONFIG_ENV = "MONDAY_BOARD_CONFIG"


def load_board_config(path: Path | str | None = None, *, today: dt.date | None = None) -> BoardConfig:
    """Parse the board mapping file: `path`, else $MONDAY_BOARD_CONFIG, else the packaged
    order_platform/config/monday_board.json; refused (one line naming the file and the key) when a key is
    unknown or a value mistyped, or when it maps an ORDER_LIST column the schema does not have. Scopes
    that follow the calendar are resolved for `today` (default: the date now; `config.on(day)` resolves
    them again for another day)."""
    given = path or os.environ.get(BOARD_CONFIG_ENV)
    if given:
        config, file = read_config_file(BoardConfig, given), str(given)
    else:
        config, file = read_packaged_config(BoardConfig, BOARD_CONFIG_FILE), f"{PACKAGED}/{BOARD_CONFIG_FILE}"
    check_against_schema(config, file)
    return config.on(today or dt.date.today())


def mapped_columns(config: BoardConfig) -> list[tuple[str, str]]:
    """(key in the file, ORDER_LIST column) for every column the mapping reads from ORDER_LIST."""
    sync = config.sync
    return [
        *((f"item_columns[{i}].order_list_column", c.order_list_column) for i, c in enumerate(config.item_columns)),
        *(
            (f"sync.{rule}.parts[{i}][{j}]", column)
            for rule, name in (("item_name", sync.item_name), ("group_name", sync.group_name))
            for i, part in enumerate(name.parts)
            for j, column in enumerate(part)
        ),
        ("sync.external_id_column.source", sync.external_id_column.source),
    ]


def check_against_schema(config: BoardConfig, file: str) -> None:
    """Every ORDER_LIST column the mapping reads exists in the schema (config/order_list_schema.json)."""
    known = order_list_schema().by_name
    unknown = [f"column {column!r} (key {key!r})" for key, column in mapped_columns(config) if column not in known]
    if unknown:
        boards = ", ".join(f"{b.name!r} ({b.id})" if b.name else b.id for b in config.boards)
        raise ConfigFileError(
            f"{file}: board {boards}: not in the ORDER_LIST schema (config/order_list_schema.json): "
            + "; ".join(unknown)
        )


@cache
def size_columns() -> tuple[str, ...]:
    """ORDER_LIST size columns in production order (group "size" of order_list_schema.json)."""
    return tuple(c.name for c in order_list_schema().size_columns)
