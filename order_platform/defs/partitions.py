"""One dynamic partition per customer, keyed by the customer's canonical name (e.g. `TITLE NINE`)."""

import dagster as dg

CUSTOMER = "customer"
customer_partitions = dg.DynamicPartitionsDefinition(name=CUSTOMER)
