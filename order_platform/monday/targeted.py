"""The targeted sync as one call (the CLI's `monday-sync` and the UI's run config use it):

    result = sync_target(database_url, "GREYSON", Target(po_number="123456"))

One customer (any spelling customers.json knows), its PO / AAG season / customer season (at least one;
`full=True` syncs the whole slice instead). Live when MONDAY_API_TOKEN is set and `dry_run` is False.
"""

from __future__ import annotations

import os

from order_platform.monday.api.client import MondayClient
from order_platform.monday.api.settings import MondaySettings
from order_platform.monday.dry_runs import _store
from order_platform.monday.mapping import BoardConfig, load_board_config
from order_platform.monday.plan.lines import Target
from order_platform.monday.result import SyncResult
from order_platform.monday.state.board_lease import boards_lease
from order_platform.monday.sync import sync_published


class NotPublishedError(LookupError):
    """The customer has no published ORDER_LIST slice."""


def sync_target(
    database_url: str,
    customer: str,
    target: Target | None,
    *,
    dry_run: bool = False,
    audit: bool = False,
    settings: MondaySettings | None = None,
    config: BoardConfig | None = None,
) -> SyncResult:
    """Sync one customer's lines selected by `target` (None: the whole slice, archiving included)."""
    from order_platform.staging.customers import customer_directory

    key = customer_directory().partition_key(customer)
    settings = settings or MondaySettings()
    config = config or load_board_config()
    store = _store(database_url)
    boards = [settings.board_id or config.board.id, *(b.id for b in config.extra_boards)]
    try:
        client = None if dry_run else MondayClient.from_settings(settings, config)
        try:
            with boards_lease(store.engine, boards, f"cli:{os.getpid()}"):
                result = sync_published(store, key, client, settings, config=config, target=target, audit=audit)
        finally:
            if client is not None:
                client.close()
    finally:
        store.engine.dispose()
    if result is None:
        raise NotPublishedError(f"{key} has no published ORDER_LIST slice; run `order-platform refresh` first")
    return result
