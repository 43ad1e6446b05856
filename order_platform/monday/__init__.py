"""monday.com sync of ORDER_LIST: plain Python (no Dagster), wired into assets elsewhere.

Public API:
    load_board_config(path=None) -> BoardConfig        the mapping + knobs (config/monday_board.json)
    MondaySettings()                                    MONDAY_API_TOKEN / _URL / _BOARD_ID / _API_VERSION
    MondayClient.from_settings(settings, config)        -> MondayClient | None (None without a token)
    sync_customer(engine, customer, lines, client, settings=None, *, config=None, target=None,
                  audit=False) -> SyncResult                lines: a frame or a chunk source
    sync_published(store, customer, client, settings=None, *, config=None, target=None,
                   audit=False) -> SyncResult | None        the published slice, read in chunks
    Target(po_number=None, aag_season=None, customer_season=None)   a targeted sync (one at least)
    create_tables(engine)                               the MONDAY_* state tables
"""

from order_platform.monday.api.client import MondayClient
from order_platform.monday.api.settings import MondaySettings
from order_platform.monday.mapping import BoardConfig, load_board_config
from order_platform.monday.plan.lines import Target, TargetError
from order_platform.monday.state.sync_state import create_tables
from order_platform.monday.sync import MondaySyncFailed, SyncResult, sync_customer, sync_published

__all__ = [
    "BoardConfig",
    "MondayClient",
    "MondaySettings",
    "MondaySyncFailed",
    "SyncResult",
    "Target",
    "TargetError",
    "create_tables",
    "load_board_config",
    "sync_customer",
    "sync_published",
]
