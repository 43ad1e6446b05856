"""Jobs: the ORDER_LIST refresh (all five layers for the selected customers)."""

import dagster as dg

from order_platform.defs.order_list.assets import order_list_layers

order_list_job = dg.define_asset_job(
    name="order_list_refresh",
    selection=dg.AssetSelection.assets(order_list_layers),
    description="Workbook -> blob -> raw -> staging -> ORDER_LIST for the run's customers.",
)
