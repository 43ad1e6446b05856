"""Entry points: sync one customer's ORDER_LIST lines to the monday.com board(s).

    result = sync_customer(engine, "GREYSON", lines, client)        # client=None -> dry run
    result = sync_published(store, "GREYSON", client, target=Target(po_number="123456"))

Per board (config.boards; a line goes to the first board whose scope takes it), chunk by chunk
(`sync.chunk_lines`): select the lines in scope -> build payloads (unformattable cells cleared and
reported as cell issues) -> load their state -> plan -> dry run: store the plan / live: execute.
Before anything is sent the plan is checked against the board's item limit (items on the board, as
the board says, + lines to create) and refused with a clear message when it would not fit. A full
sync then archives the customer's lines gone from the board's scope (guarded); a targeted sync
archives nothing. A live run first settles creates an interrupted run left open, and after any
ambiguous batch (or with `audit=True`) reads the whole board and deletes duplicates, keeping one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import sqlalchemy as sa

from order_platform.monday.api.client import MondayClient
from order_platform.monday.api.settings import MondaySettings
from order_platform.monday.board_run import BoardRun
from order_platform.monday.mapping import BoardConfig, load_board_config
from order_platform.monday.plan.lines import LineSource, Target, store_source
from order_platform.monday.result import MondaySyncFailed, SyncResult, combine
from order_platform.monday.state import sync_state as st

__all__ = ["MondaySyncFailed", "SyncResult", "Target", "sync_customer", "sync_published"]


def effective_config(config: BoardConfig, settings: MondaySettings) -> BoardConfig:
    """The mapping with MONDAY_BOARD_ID (when set) as the first board's id."""
    if settings.board_id:
        return config.with_boards(config.board.model_copy(update={"id": settings.board_id}), *config.extra_boards)
    return config


def sync_published(
    store: Any,
    customer: str,
    client: MondayClient | None,
    settings: MondaySettings | None = None,
    *,
    config: BoardConfig | None = None,
    target: Target | None = None,
    audit: bool = False,
    today: dt.date | None = None,
) -> SyncResult | None:
    """Sync the customer's published ORDER_LIST slice (read in chunks from the warehouse Store);
    None when the customer was never published."""
    config = config or load_board_config()
    source = store_source(store, customer)
    if source is None:
        return None
    return sync_customer(
        store.engine, customer, source, client, settings, config=config, target=target, audit=audit, today=today
    )


def sync_customer(
    engine: sa.Engine,
    customer: str,
    lines: pd.DataFrame | LineSource,
    client: MondayClient | None,
    settings: MondaySettings | None = None,
    *,
    config: BoardConfig | None = None,
    target: Target | None = None,
    audit: bool = False,
    today: dt.date | None = None,
) -> SyncResult:
    """Sync `lines` (one customer's ORDER_LIST rows with record_uuid: a frame, or a chunk source, see
    lines.py) to the board(s); client None = dry run. `target` narrows to a PO / season. `today`: the
    day whose open seasons a calendar scope takes (default: the day the mapping was loaded)."""
    config = effective_config(config or load_board_config(), settings or MondaySettings())
    if today is not None:
        config = config.on(today)
    st.create_tables(engine)
    results: list[SyncResult] = []
    counts = {"total": 0, "taken": 0}  # lines of the slice, lines some board takes
    for index in range(len(config.boards)):
        run = BoardRun(engine, customer, lines, client, config, index, target, audit, counts)
        results.append(run.run())
    return combine(results, counts["total"] - counts["taken"])
