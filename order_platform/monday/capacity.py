"""The item limit for the whole plan of a run, checked before anything is sent.

    loads = plan_capacity(engine, {"GREYSON": source, ...}, client, config)
    refused = refusals(loads)            # customer -> why it is refused (its boards would overflow)

For every board, the items the run would leave on it: the items there now (live: the board's own
`items_count`; dry run: the items the sync state knows), plus every customer's creations (its lines
in the board's scope that have no active item), minus the items it archives (its lines gone from
the scope; none when the archive guard would trip) unless the board counts archived items against
its limit (`archived_items_count`, monday.com's rule: an archived item stays on the board). Over
the board's `item_limit`, nothing is sent to that board: every customer of the run with lines for
(creations, archives or updates) is refused, with the counts; the next run checks again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from order_platform.monday.api.client import MondayClient
from order_platform.monday.apply.board import read_items_count
from order_platform.monday.mapping import BoardConfig, BoardIds, BoardScope
from order_platform.monday.plan.lines import LineSource, RawLines, Target
from order_platform.monday.result import SyncResult
from order_platform.monday.state import records
from order_platform.monday.state import sync_state as st


@dataclass
class BoardLoad:
    """What a run would leave on one board."""

    board: BoardIds
    holds: int  # items on the board now
    counted_by: str  # "the board says" | "as far as the sync state knows"
    creates: dict[str, int] = field(default_factory=dict)  # customer -> items it creates
    archives: dict[str, int] = field(default_factory=dict)  # customer -> items it archives
    customers: set[str] = field(default_factory=set)  # customers of the run with lines for this board

    @property
    def freed(self) -> int:
        return 0 if self.board.archived_items_count else sum(self.archives.values())

    @property
    def projected(self) -> int:
        return self.holds + sum(self.creates.values()) - self.freed

    @property
    def over(self) -> bool:
        return self.projected > self.board.item_limit

    def refusal(self, customer: str, dry_run: bool) -> str:
        customers = [c for c in self.creates if self.creates[c]]
        archived = sum(self.archives.values())
        archives = (
            f" - {archived} archived"
            if self.freed
            else (f"; its {archived} archived items stay counted" if archived else "")
        )
        return (
            f"refused: board {self.board.id} would hold {self.projected:,} items after this run, over its limit of "
            f"{self.board.item_limit:,} ({self.holds:,} there now, {self.counted_by}, + {sum(self.creates.values()):,} "
            f"created by {len(customers)} customer(s) of the run, {self.creates.get(customer, 0):,} of them "
            f"{customer}'s{archives}); "
            + ("a live run would send nothing to it" if dry_run else "nothing was sent to it")
            + f". Narrow the board's scope ({self.board.scope.describe()}) or add a board "
            "(monday_board.json `extra_boards`)"
        )


def _ids(chunks: Any, id_column: str) -> set[str]:
    ids: set[str] = set()
    for chunk in chunks:
        values = chunk.values[id_column] if isinstance(chunk, RawLines) else chunk[id_column].tolist()
        ids.update(str(v).strip() for v in values if v is not None and v == v and str(v).strip())
    return ids


def slice_ids(source: LineSource, config: BoardConfig, customer: str) -> set[str]:
    """The line ids of the customer's whole slice, in any board's scope or none."""
    everything = config.with_boards(BoardIds(id=config.board.id, scope=BoardScope()))
    id_column = config.sync.external_id_column.source
    return _ids(source.chunks(everything, 0, customer, None, [id_column]), id_column)


def to_archive(
    gone: set[str], active: set[str], source: LineSource, config: BoardConfig, customer: str
) -> tuple[set[str], int]:
    """The active lines gone from a board's scope that its sync archives, and how many of them are gone
    from the slice itself. The archive guard (`archive_guard_fraction`) counts only lines gone from
    the slice (an empty or broken slice): lines still in it that left the scope (the season calendar
    moved, an ORDER TYPE changed) are archived however many they are."""
    if not gone:
        return gone, 0
    missing = len(gone)
    if missing / len(active) > config.sync.archive_guard_fraction:
        missing = len(gone - slice_ids(source, config, customer))
        if missing / len(active) > config.sync.archive_guard_fraction:
            return set(), missing
    return gone, missing


def line_counts(
    engine: sa.Engine,
    source: LineSource,
    config: BoardConfig,
    index: int,
    customer: str,
    target: Target | None = None,
) -> tuple[int, int, int]:
    """(the customer's lines for board `index`: in its scope or with an active item there; the items
    its sync would create there; the items it would archive there)."""
    board = config.boards[index]
    id_column = config.sync.external_id_column.source
    ids = _ids(source.chunks(config, index, customer, target, [id_column]), id_column)
    with engine.connect() as conn:
        known = st.load_state(conn, board.id, ids)
        active = st.line_ids(conn, board.id, customer, ("active",)) if target is None else set()
    creates = sum(1 for i in ids if i not in known or known[i].status != "active" or not known[i].item_id)
    archived, _ = to_archive(active - ids, active, source, config, customer)
    return len(ids | active), creates, len(archived)


def plan_capacity(
    engine: sa.Engine,
    sources: dict[str, LineSource],
    client: MondayClient | None,
    config: BoardConfig,
    target: Target | None = None,
) -> list[BoardLoad]:
    """Each board's load after the run of these customers (see the module docstring)."""
    st.create_tables(engine)
    loads: list[BoardLoad] = []
    for index, board in enumerate(config.boards):
        load = BoardLoad(board, 0, "as far as the sync state knows")
        for customer, source in sources.items():
            lines, creates, archives = line_counts(engine, source, config, index, customer, target)
            if lines:
                load.customers.add(customer)
            if creates:
                load.creates[customer] = creates
            if archives:
                load.archives[customer] = archives
        if load.creates:  # nothing created, nothing can overflow: the board is not even asked
            counted = read_items_count(client, board.id) if client is not None else None
            if counted is None:
                with engine.connect() as conn:
                    load.holds = st.count_items(conn, board.id)
            else:
                load.holds, load.counted_by = counted, "the board says"
        loads.append(load)
    return loads


def refusals(loads: list[BoardLoad], dry_run: bool) -> dict[str, str]:
    """Customer -> why it is refused: every customer with lines for a board the run would overflow."""
    refused: dict[str, str] = {}
    for load in loads:
        if not load.over:
            continue
        for customer in sorted(load.customers):
            refused.setdefault(customer, load.refusal(customer, dry_run))
    return refused


def record_refusal(engine: sa.Engine, customer: str, board_id: str, dry_run: bool, message: str) -> SyncResult:
    """The customer's MONDAY_SYNC_RUN row for a refused run (nothing planned, nothing sent)."""
    st.create_tables(engine)
    with engine.begin() as conn:
        run_id = records.start_run(conn, board_id, customer, dry_run)
        records.finish_run(conn, run_id, status="refused", message=message)
    return SyncResult(run_id, customer, board_id, dry_run, "refused", message=message)
