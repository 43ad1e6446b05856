"""The monday.com dry-run plan of a customer's slice, made by the worker that has just published it.

Without a monday.com token the board sync only plans (nothing is sent), and the plan of one customer
needs nothing but its published slice. Planned in the worker, right after the publish, it runs on the
other core while the next workbook is read, instead of one customer after another in the run's own
process once every load is done. A live sync (a token) stays in the run's process: one paced client,
holding the boards' leases.

A plan that fails is the board's problem, not the load's: the slice stays published and the error is
reported with the board's asset, as when the run's process plans it.
"""

from __future__ import annotations

from dataclasses import dataclass

from order_platform.load.stages import timed
from order_platform.monday.result import SyncResult

BOARD_PLAN = "board_plan"  # asked for with the layers: plan the board after publishing


class BoardPlanError(Exception):
    """The worker's plan of the customer's board failed (its message is the worker's error)."""


@dataclass
class PlannedBoard:
    result: SyncResult | None
    error: str | None = None

    def outcome(self) -> SyncResult | None:
        """The plan, as `sync_published` returns it; raises BoardPlanError for a plan that failed."""
        if self.error is not None:
            raise BoardPlanError(self.error)
        return self.result


def plan_board(store: object, customer: str) -> PlannedBoard:
    """The dry-run sync of the customer's published slice (MONDAY_* settings and the packaged mapping)."""
    from order_platform.monday.sync import sync_published  # the monday.com modules only where planned

    with timed(BOARD_PLAN):
        try:
            return PlannedBoard(sync_published(store, customer, None))
        except Exception as exc:  # a bug or a broken board state: the board's problem, not the load's
            return PlannedBoard(None, f"{type(exc).__name__}: {exc}")
