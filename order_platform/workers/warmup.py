"""What the fork server builds once, before it forks any worker, so a customer's process starts ready.

The schema, the customer directory and the fixed tables' SQLAlchemy metadata are cached by their
functions; forked workers inherit the caches. About 60 ms a customer on the bench machine.
"""

from __future__ import annotations


def warm_up() -> None:
    """Build the caches every worker would otherwise build again (the fork server calls this once)."""
    from order_platform.schema import order_list_schema
    from order_platform.staging.customers import customer_directory
    from order_platform.warehouse.tables import platform_metadata

    platform_metadata(order_list_schema())
    customer_directory()
