"""Jobs: the whole refresh of the run's customers (workbook to board), and the board sync alone.

Their names start with a capital on purpose: the UI's Materialize button runs the assets in the first
job (by name) that holds all of them, and Dagster's hidden `__ASSET_JOB` holds every asset. Named so
that they come first, a run launched from the UI is a `Refresh` (or a `Board_sync` for the board
alone), titled after what it does, and the partitions it materialises show that job (a run of
`__ASSET_JOB` is untitled and its partitions show "Job: None").
"""

import dagster as dg

from order_platform.defs.monday.assets import MONDAY_BOARD_ITEMS
from order_platform.defs.monday.reconcile import BOARD_MATCHES
from order_platform.defs.order_list.assets import LAYER_OF

REFRESH_JOB = "Refresh"
BOARD_SYNC_JOB = "Board_sync"
RECONCILE_JOB = "Refresh_and_reconcile"

# `board_matches_order_list` is evaluated only when the board is read back (run config
# `reconcile_board: true`): a plain refresh or sync does not plan it, so it never reads "skipped" (or
# "execution failed" when another customer failed the run) for customers whose board nobody read.
_READ_BACK_CHECK = dg.AssetSelection.checks(dg.AssetCheckKey(MONDAY_BOARD_ITEMS, BOARD_MATCHES))

refresh_job = dg.define_asset_job(
    name=REFRESH_JOB,
    selection=dg.AssetSelection.assets(*LAYER_OF, MONDAY_BOARD_ITEMS) - _READ_BACK_CHECK,
    description="Workbook -> blob -> raw -> staging -> ORDER_LIST -> monday.com items for the run's customers "
    "(any subset of the layers).",
)

reconcile_job = dg.define_asset_job(
    name=RECONCILE_JOB,
    selection=dg.AssetSelection.assets(*LAYER_OF, MONDAY_BOARD_ITEMS),
    description="Refresh with the board read back and reconciled (run config reconcile_board: true; the "
    "weekly_full_refresh schedule): what people changed on the platform's columns and items repaired, "
    "recorded in MONDAY_DRIFT, and board_matches_order_list evaluated per customer.",
)

monday_sync_job = dg.define_asset_job(
    name=BOARD_SYNC_JOB,
    selection=dg.AssetSelection.assets(MONDAY_BOARD_ITEMS) - _READ_BACK_CHECK,
    description="ORDER_LIST slice -> monday.com items for the run's customers (a dry run without "
    "MONDAY_API_TOKEN). After switching from dry run to live, backfill it once.",
)
