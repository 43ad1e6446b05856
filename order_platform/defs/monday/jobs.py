"""The monday.com sync as a job: run it by hand or backfill it over customers (partitioned like the asset)."""

import dagster as dg

from order_platform.defs.monday.assets import monday_board_items

monday_sync_job = dg.define_asset_job(
    name="monday_sync",
    selection=dg.AssetSelection.assets(monday_board_items),
    description="ORDER_LIST slice -> monday.com items for the run's customers "
    "(a dry run without MONDAY_API_TOKEN).",
)
