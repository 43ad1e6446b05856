"""Jobs: the whole refresh of the run's customers (workbook to board), and the board sync alone."""

import dagster as dg

from order_platform.defs.monday.assets import MONDAY_BOARD_ITEMS
from order_platform.defs.order_list.assets import LAYER_OF

refresh_job = dg.define_asset_job(
    name="refresh",
    selection=dg.AssetSelection.assets(*LAYER_OF, MONDAY_BOARD_ITEMS),
    description="Workbook -> blob -> raw -> staging -> ORDER_LIST -> monday.com items for the run's customers.",
)

monday_sync_job = dg.define_asset_job(
    name="monday_sync",
    selection=dg.AssetSelection.assets(MONDAY_BOARD_ITEMS),
    description="ORDER_LIST slice -> monday.com items for the run's customers (a dry run without "
    "MONDAY_API_TOKEN). After switching from dry run to live, backfill it once.",
)
