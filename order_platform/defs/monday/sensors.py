"""Declarative automation for the delivery assets: monday_board_items follows ORDER_LIST refreshes.

Dagster adds a `default_automation_condition_sensor` by itself when an asset has an automation
condition, but that one starts stopped in a fresh deployment; this sensor starts running, so a
refreshed ORDER_LIST slice reaches the board without anyone switching it on.
"""

import dagster as dg

from order_platform.defs.monday.assets import MONDAY_BOARD_ITEMS

monday_automation_sensor = dg.AutomationConditionSensorDefinition(
    "monday_automation",
    target=dg.AssetSelection.assets(MONDAY_BOARD_ITEMS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Syncs a customer's board after a run published its ORDER_LIST slice without the board (a "
    "selection of layers); runs of every layer sync the board themselves.",
)
