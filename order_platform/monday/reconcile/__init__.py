"""Read the board back and repair what people changed on the platform's columns and items.

    result = reconcile_boards(store, None, client, settings, run="cli:123")   # every published customer

read.py (items_page / next_items_page) -> compare.py (vs. plan/payloads.py, pure) -> run.py (state
rewritten to the board's truth, the normal sync sends the repairs; by_id.py archives and deletes by
id) -> drift.py (MONDAY_DRIFT). See run.py for the whole story.
"""

from order_platform.monday.reconcile.result import CustomerReconcile, ReconcileResult
from order_platform.monday.reconcile.run import ReconcileError, reconcile_boards

__all__ = ["CustomerReconcile", "ReconcileError", "ReconcileResult", "reconcile_boards"]
