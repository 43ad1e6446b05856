"""The dry-run plan of many customers at once: customers spread over worker processes.

    results = dry_run_plans("sqlite:///.order_platform/order_platform.db", workers=2)

Each worker opens its own engine and plans its customers' published slices chunk by chunk (memory:
one chunk per worker), largest slices first; plans, cell issues and runs are stored as by
`sync_published(..., client=None)`. SQLite takes the workers' short write transactions one at a time.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import sqlalchemy as sa

from order_platform.monday.mapping import BoardConfig, load_board_config
from order_platform.monday.result import SyncResult
from order_platform.monday.state.sync_state import create_tables

_WORKER: dict[str, Any] = {}


def _store(database_url: str) -> Any:
    from order_platform.schema import order_list_schema
    from order_platform.warehouse.engine import make_engine
    from order_platform.warehouse.store import OrderStore

    return OrderStore(make_engine(database_url), order_list_schema())


def _start(database_url: str, config: BoardConfig) -> None:
    _WORKER.update(store=_store(database_url), config=config)


def _plan(customer: str) -> tuple[SyncResult | None, int, float]:
    from order_platform.monday.sync import sync_published

    started = time.process_time()
    result = sync_published(_WORKER["store"], customer, None, config=_WORKER["config"])
    return result, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.process_time() - started


def published_customers(database_url: str) -> list[str]:
    """Customers with a published slice, largest first."""
    store = _store(database_url)
    loads = store.latest_loads()
    sizes = {c: int(r.get("published_rows") or 0) for c, r in loads.items() if r.get("status") == "published"}
    store.engine.dispose()
    return sorted(sizes, key=lambda c: (-sizes[c], c))


def dry_run_plans(
    database_url: str,
    customers: list[str] | None = None,
    *,
    workers: int | None = None,
    config: BoardConfig | None = None,
) -> tuple[list[SyncResult], int, float]:
    """Dry-run plans of `customers` (default: every published one); returns the results, the peak
    resident memory of a worker in KiB and the CPU seconds the plans took (all workers)."""
    config = config or load_board_config()
    customers = customers if customers is not None else published_customers(database_url)
    workers = max(1, min(workers or min(2, os.cpu_count() or 1), len(customers) or 1))
    engine = sa.create_engine(database_url)
    create_tables(engine)  # once, before the workers race to create them
    engine.dispose()
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start, initargs=(database_url, config)) as pool:
        answers = list(pool.map(_plan, customers))
    results = [r for r, _, _ in answers if r is not None]
    return results, max((rss for _, rss, _ in answers), default=0), sum(cpu for _, _, cpu in answers)
