"""The board sync's preparation while a run's customers load: each published customer's lines read and
their payloads built (monday/plan/prepared.py) as its load report arrives, in the run's process, while
the workers go on with the next customers. The sync after the last load (assets.sync_board) then
starts from these; nothing is stored or sent before it, so its run-wide item-limit check still sees
every customer's plan first.

What is held is bounded: customers are prepared while their lines fit in `PREPARED_LINES`; a customer
that would cross it is let go at once and read at sync time, as without preparation (while one customer
is prepared, its lines in scope are held once, as a sync without preparation holds a chunk of them).
"""

from __future__ import annotations

import logging

from order_platform.defs.monday.resources import MondayResource
from order_platform.monday.mapping import BoardConfig
from order_platform.monday.plan.lines import LineSource, Target, store_source
from order_platform.monday.plan.prepared import PreparedSource
from order_platform.monday.sync import effective_config
from order_platform.warehouse.store import OrderStore

log = logging.getLogger(__name__)

# ~7 KB per line held (its chunk row and payloads; measured with tracemalloc on the demo): ~180 MB at most.
# The demo's 8,394 lines in the board's scope are all prepared; at 10x the rows, the first ~25,000.
PREPARED_LINES = 25_000


class BoardPreparation:
    """The prepared sources of a run's customers, by customer (what sync_board reads first)."""

    def __init__(
        self, store: OrderStore, monday: MondayResource, target: Target | None, budget: int = PREPARED_LINES
    ) -> None:
        self.store, self.target, self.budget = store, target, budget
        self.sources: dict[str, LineSource] = {}
        self.lines = 0
        try:
            self.config: BoardConfig | None = effective_config(monday.board_config(), monday.settings())
        except Exception:  # a broken mapping or setting: the sync meets it and fails the run, as before
            log.debug("no board preparation", exc_info=True)
            self.config = None

    def add(self, customer: str, published: tuple[str, int] | None = None) -> None:
        """Prepare a customer just published (while there is room); a failure is left to its sync,
        which meets it again and reports it for that customer. `published`: its slice's load id and rows,
        from the load's report."""
        if self.config is None or self.lines >= self.budget or customer in self.sources:
            return
        try:
            source = store_source(self.store, customer, published)
            if source is None:
                return
            prepared = PreparedSource(source, self.config, customer, self.target)
        except Exception:
            log.debug("board lines of %s not prepared; its sync reads them", customer, exc_info=True)
            return
        if self.lines + prepared.lines > self.budget:  # would cross the budget: read at sync time
            self.lines = self.budget  # and no other customer after it (the largest load first)
            return
        self.sources[customer] = prepared
        self.lines += prepared.lines
