"""The change history of ORDER_LIST: what each publish changed per order line (ORDER_LIST_CHANGES)."""
