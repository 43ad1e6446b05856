"""How much a change matters to the order team: quantities first, then ex-factory and delivery dates,
prices, order type (cancellations), lines added or removed, then everything else."""

from __future__ import annotations

from order_platform.schema import ORDER_TYPE, TOTAL_QTY, Kind, OrderListSchema

QUANTITY = 1
DATE = 2
PRICE = 3
ORDER_STATUS = 4
LINE = 5
OTHER = 9

LABELS = {QUANTITY: "quantity", DATE: "date", PRICE: "price", ORDER_STATUS: "order type", LINE: "line", OTHER: "other"}
_PRICE_WORDS = ("PRICE", "FOB", "DDP", "EX WORKS", "EX-WORKS", "COST")


def column_significance(schema: OrderListSchema, column: str) -> int:
    """The rank of a changed ORDER_LIST column (lower is more significant)."""
    if column == TOTAL_QTY:
        return QUANTITY
    if column == ORDER_TYPE:
        return ORDER_STATUS
    found = schema.by_name.get(column)
    if found is None:
        return OTHER
    if found.is_size:
        return QUANTITY
    if found.kind is Kind.DATE:
        return DATE
    upper = column.upper()
    if (found.kind is Kind.DECIMAL and not upper.endswith("RATE")) or any(w in upper for w in _PRICE_WORDS):
        return PRICE
    return OTHER
