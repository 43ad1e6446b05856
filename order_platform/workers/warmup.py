"""Imported by the fork server only (server.PRELOAD): builds what every worker would otherwise build
again, once, before the workers are forked from it, so a customer's process starts ready.

The schema, the customer directory and the fixed tables' SQLAlchemy metadata are cached by their
functions; forked workers inherit the caches. About 60 ms a customer on the bench machine.
"""

from __future__ import annotations

from order_platform.schema import order_list_schema
from order_platform.staging.customers import customer_directory
from order_platform.warehouse.tables import platform_metadata

platform_metadata(order_list_schema())
customer_directory()
