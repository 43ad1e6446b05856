"""The reconcile as one call (the CLI's `reconcile-board`):

    result = reconcile_database(database_url, ["GREYSON"], dry_run=False)

Customers may be named as customers.json knows them (`TITLE 9` or `TITLE NINE`); none = every
published customer. A live reconcile holds the boards' leases (one writer per board across runs and
pods). It needs MONDAY_API_TOKEN even for a dry run: without it the board cannot be read, so nothing
can be compared (NoTokenError).
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import nullcontext

from order_platform.monday.api.client import MondayClient
from order_platform.monday.api.pacing import monday_throttle
from order_platform.monday.api.settings import MondaySettings
from order_platform.monday.dry_runs import _store
from order_platform.monday.mapping import BoardConfig, load_board_config
from order_platform.monday.reconcile.result import ReconcileResult
from order_platform.monday.reconcile.run import reconcile_boards
from order_platform.monday.state.board_lease import boards_lease


class NoTokenError(RuntimeError):
    """The board cannot be read without MONDAY_API_TOKEN."""


NO_TOKEN = (
    "reconcile-board reads the board back and needs MONDAY_API_TOKEN, also for --dry-run: without it the "
    "board cannot be read, so nothing was compared and nothing is known about drift "
    "(`order-platform monday-sync --customer NAME --all --dry-run` shows what the platform itself would send)"
)


def reconcile_database(
    database_url: str,
    customers: list[str] | None,
    *,
    dry_run: bool = False,
    settings: MondaySettings | None = None,
    config: BoardConfig | None = None,
) -> ReconcileResult:
    from order_platform.staging.customers import customer_directory

    settings = settings or MondaySettings()
    config = config or load_board_config()
    if not settings.has_token:
        raise NoTokenError(NO_TOKEN)
    directory = customer_directory()
    keys = [directory.partition_key(c) for c in customers] if customers else None
    run = f"cli:{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}:{os.getpid()}"
    store = _store(database_url)
    boards = [settings.board_id or config.board.id, *(b.id for b in config.extra_boards)]
    try:
        client = MondayClient.from_settings(settings, config, throttle=monday_throttle(settings.api_url, store.engine))
        assert client is not None  # a token is set
        with client:
            lease = nullcontext() if dry_run else boards_lease(store.engine, boards, run)
            with lease:
                return reconcile_boards(store, keys, client, settings, config=config, run=run, dry_run=dry_run)
    finally:
        store.engine.dispose()
