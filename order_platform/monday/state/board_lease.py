"""One writer per monday.com board across runs, processes and pods: a lease row in the platform database.

monday.com answers concurrent writes to one board with 423s and can corrupt data; Dagster pools
limit steps, not the board, and production runs several load steps at once. The lease names its
holder (a Dagster run id), expires unless renewed (a heartbeat thread renews it while held), and
is released by `release_leases_of` when a dead run is reaped, so a killed process never blocks the
board for longer than it takes the next command to notice.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import sqlalchemy as sa

from order_platform.warehouse.tables import DATETIME_TYPE

metadata = sa.MetaData()
lease_table = sa.Table(
    "MONDAY_BOARD_LEASE",
    metadata,
    sa.Column("board_id", sa.Unicode(32), primary_key=True),
    sa.Column("holder", sa.Unicode(64), nullable=False),
    sa.Column("expires_at", DATETIME_TYPE, nullable=False),
)
TTL_SECONDS = 120.0
POLL_SECONDS = 1.0


class BoardBusy(Exception):
    """Another run held the board for longer than this one would wait."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _try_acquire(engine: sa.Engine, board_id: str, holder: str, ttl: float) -> str | None:
    """Take or renew the lease; None when taken, else the current holder."""
    expires = _now() + dt.timedelta(seconds=ttl)
    with engine.begin() as conn:
        expired = sa.and_(lease_table.c.board_id == board_id, lease_table.c.expires_at < _now())
        conn.execute(sa.delete(lease_table).where(expired))
        current = conn.execute(sa.select(lease_table.c.holder).where(lease_table.c.board_id == board_id)).scalar()
        if current is None:
            try:
                conn.execute(sa.insert(lease_table).values(board_id=board_id, holder=holder, expires_at=expires))
            except sa.exc.IntegrityError:
                return "another run"
            return None
        if current == holder:
            conn.execute(sa.update(lease_table).where(lease_table.c.board_id == board_id).values(expires_at=expires))
            return None
        return str(current)


@contextmanager
def board_lease(
    engine: sa.Engine,
    board_id: str,
    holder: str,
    *,
    wait_seconds: float = 3600.0,
    ttl: float = TTL_SECONDS,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the board's lease for the block; waits (in short, interruptible steps) while another holds it."""
    metadata.create_all(engine)
    deadline = time.monotonic() + wait_seconds
    told = None
    while (other := _try_acquire(engine, board_id, holder, ttl)) is not None:
        if time.monotonic() > deadline:
            raise BoardBusy(f"board {board_id} is held by {other}; waited {wait_seconds:.0f}s")
        if on_wait and other != told:
            on_wait(other)
            told = other
        time.sleep(POLL_SECONDS)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(ttl / 4):
            _try_acquire(engine, board_id, holder, ttl)

    beat = threading.Thread(target=heartbeat, name=f"board-lease-{board_id}", daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join(timeout=5)
        with engine.begin() as conn:
            mine = sa.and_(lease_table.c.board_id == board_id, lease_table.c.holder == holder)
            conn.execute(sa.delete(lease_table).where(mine))


@contextmanager
def boards_lease(
    engine: sa.Engine, boards: list[str], holder: str, *, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Every board a sync may write to, taken in one order (so two runs never wait for each other)."""
    with ExitStack() as stack:
        for board in sorted(set(boards)):
            stack.enter_context(board_lease(engine, board, holder, on_wait=on_wait))
        yield


def release_leases_of(engine: sa.Engine, holder: str) -> int:
    """Free the boards a dead holder still held; how many."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        return int(conn.execute(sa.delete(lease_table).where(lease_table.c.holder == holder)).rowcount or 0)
