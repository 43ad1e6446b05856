"""What a reconcile found and did, per customer and in total (the CLI prints it, Dagster shows it)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from order_platform.monday.reconcile.drift import ACTIONS, Finding
from order_platform.monday.result import SyncResult

NO_CUSTOMER = "(no customer)"  # items made by people, and items no customer owns


@dataclass
class CustomerReconcile:
    """One customer's reconcile on every board in scope.

    status: matches (nothing to repair) | repaired (drift found and repaired) | drift (drift or
    pending changes left: a dry run, or a repair that failed) | failed (the sync after the repair
    failed or was refused)."""

    customer: str
    findings: list[Finding] = field(default_factory=list)
    pending: int = 0  # ORDER_LIST changes the board does not show yet (not drift: the sync sends them)
    checked_items: int = 0
    sync: SyncResult | None = None
    status: str = "matches"
    message: str = ""
    recorded: int = 0  # findings written to MONDAY_DRIFT (a `reported` finding already there is not again)

    def counts(self) -> dict[str, int]:
        tally = Counter(f.action for f in self.findings)
        return {action: tally.get(action, 0) for action in ACTIONS}

    @property
    def unrepaired(self) -> int:
        """Findings that should have been repaired and were not (report-only ones are by design)."""
        return sum(1 for f in self.findings if f.action != "reported" and not f.repaired)

    @property
    def matches(self) -> bool:
        return self.status in ("matches", "repaired")

    def line(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.counts().items())
        sync = ""
        if self.sync is not None:
            s = self.sync
            sync = (
                f"; sync {s.status}: created {s.created}, updated {s.updated}, archived {s.archived}, failed {s.failed}"
            )
        extra = f"; {self.pending} pending ORDER_LIST change(s)" if self.pending else ""
        note = f"; {self.message}" if self.message else ""
        return f"{self.customer}: {self.status}; {counts}; {self.checked_items} items checked{sync}{extra}{note}"


@dataclass
class ReconcileResult:
    run: str
    dry_run: bool
    customers: dict[str, CustomerReconcile] = field(default_factory=dict)
    boards: list[dict[str, Any]] = field(default_factory=list)  # board_id, items read, pages, people's items
    # items without the platform's line id, or with one no line has and the state never knew: reported only
    people: list[Finding] = field(default_factory=list)
    requests: int = 0
    mutations: int = 0
    complexity_spent: int = 0
    seconds: float = 0.0
    message: str = ""

    @property
    def ok(self) -> bool:
        """The board matches ORDER_LIST (after the repair) for every customer in scope."""
        return not self.message and all(c.matches for c in self.customers.values())

    def totals(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for customer in self.customers.values():
            total.update(customer.counts())
        total["reported"] += len(self.people)
        return {action: total.get(action, 0) for action in ACTIONS}

    def lines(self) -> list[str]:
        out = [
            f"board {b['board_id']}: {b['items_read']} items read in {b['pages']} page(s); columns not in the "
            f"mapping, never read or written: {', '.join(b['unmapped_columns']) or 'none'}"
            for b in self.boards
        ]
        out += [c.line() for c in self.customers.values()]
        if self.people:
            out.append(
                f"{NO_CUSTOMER}: {len(self.people)} item(s) without the platform's line id, reported, left alone"
            )
        total = ", ".join(f"{k} {v}" for k, v in self.totals().items())
        verb = "dry run, nothing changed" if self.dry_run else "repaired"
        state = "the board matches ORDER_LIST" if self.ok else "the board does NOT match ORDER_LIST"
        out.append(
            f"total ({verb}): {total}; {self.requests} requests, {self.mutations} mutations, "
            f"{self.complexity_spent:,} complexity, {self.seconds:.1f}s; {state}"
        )
        if self.message:
            out.append(self.message)
        return out
