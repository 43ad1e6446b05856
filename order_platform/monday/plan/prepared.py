"""A customer's lines read, and their payloads built, ahead of its sync.

A refresh prepares each published customer's board lines while the other customers still load
(defs/monday/preparation.py), so that after the last load only the run-wide item-limit check, the
plan against the sync state and the storing (or sending) remain. Nothing here writes anything:
what is prepared is the input of the plan (the slice's chunks, as `StoreSource` reads them, and
`build_payloads`' answer for each), which depends on the published slice and the mapping only.

    source = PreparedSource(store_source(store, "GREYSON"), config, "GREYSON", None)
    source.chunks(config, 0, "GREYSON", None, [id_column])   # from memory (the capacity check)
    source.take(config, 0, "GREYSON", None)                  # [(chunk, payloads), ...], once

Asked for anything else (another mapping or target, columns it did not read, a board already taken),
it reads from the underlying source, as a sync without preparation would.
"""

from __future__ import annotations

from collections.abc import Iterable

from order_platform.monday.mapping import BoardConfig
from order_platform.monday.plan.lines import Chunk, LineSource, Target, needed_columns
from order_platform.monday.plan.payloads import Payloads, build_payloads


class PreparedSource:
    """`source`'s lines for every board of `config` (and `target`), with their payloads, held in memory."""

    def __init__(self, source: LineSource, config: BoardConfig, customer: str, target: Target | None) -> None:
        self.source, self.config, self.customer, self.target = source, config, customer, target
        self.columns = needed_columns(config)
        self.boards: dict[int, list[tuple[Chunk, Payloads]]] = {
            index: [
                (chunk, build_payloads(chunk, customer, config))
                for chunk in source.chunks(config, index, customer, target, self.columns)
                if len(chunk)
            ]
            for index in range(len(config.boards))
        }
        self.lines = sum(len(chunk) for chunks in self.boards.values() for chunk, _ in chunks)
        self._total = source.total()

    def _holds(self, config: BoardConfig, index: int, customer: str, target: Target | None) -> bool:
        return (
            index in self.boards and customer == self.customer and target == self.target and config == self.config
        )

    def chunks(
        self, config: BoardConfig, index: int, customer: str, target: Target | None, columns: list[str]
    ) -> Iterable[Chunk]:
        if self._holds(config, index, customer, target) and set(columns) <= set(self.columns):
            return [chunk for chunk, _ in self.boards[index]]
        return self.source.chunks(config, index, customer, target, columns)

    def take(
        self, config: BoardConfig, index: int, customer: str, target: Target | None
    ) -> list[tuple[Chunk, Payloads]] | None:
        """Board `index`'s chunks with their payloads, handed over once (then freed here); None when
        this preparation does not hold them."""
        if not self._holds(config, index, customer, target):
            return None
        return self.boards.pop(index)

    def total(self) -> int:
        return self._total
