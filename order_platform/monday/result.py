"""SyncResult: what one customer's sync did (per run, summed over its boards)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

MAX_FAILURES_IN_RESULT = 100
MAX_ISSUES_IN_RESULT = 100
MAX_PLAN_ROWS_IN_RESULT = 100


class MondaySyncFailed(RuntimeError):
    """Raised by SyncResult.raise_for_status when a run did not complete."""


@dataclass
class SyncResult:
    """What a run did. Counts are per order line; in a dry run created/updated/archived are planned.

    status: success | partial (some lines failed or were skipped) | failed | refused (the plan would
    exceed a board's item limit: nothing was sent) | dry_run. Cell issues (cleared or neutralised
    cells) are warnings: they do not change the status."""

    run_id: int
    customer: str
    board_id: str
    dry_run: bool
    status: str
    lines: int = 0  # lines in scope (and in the target)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    failed: int = 0
    skipped: int = 0  # planned but not attempted (run aborted)
    out_of_scope: int = 0  # lines of the slice no board takes
    requests: int = 0
    mutations: int = 0
    complexity_spent: int = 0
    rate_limited: int = 0
    duplicates_found: int = 0  # extra items / subitems found on the board (any cause)
    duplicates_removed: int = 0
    cell_issues: int = 0  # cells cleared or neutralised (MONDAY_CELL_ISSUE)
    planned_operations: int = 0  # mutations the plan holds (dry run: what a live run would send)
    seconds: float = 0.0
    message: str = ""
    target: str = ""  # a targeted sync's filters ("" = full sync)
    api_version: str = ""  # the version that answered (live runs)
    sample_payloads: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)  # first MAX_FAILURES_IN_RESULT
    cell_issue_sample: list[dict[str, str]] = field(default_factory=list)  # first MAX_ISSUES_IN_RESULT
    plan: list[dict[str, Any]] = field(default_factory=list)  # dry run: the first plan rows (all in MONDAY_PLAN)
    boards: list[dict[str, Any]] = field(default_factory=list)  # per board: id, scope, status, counts, items

    @property
    def ok(self) -> bool:
        return self.status in ("success", "dry_run")

    @property
    def requests_per_line(self) -> float:
        return self.requests / self.lines if self.lines else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def raise_for_status(self) -> SyncResult:
        if self.status in ("failed", "refused"):
            raise MondaySyncFailed(f"monday sync of {self.customer} {self.status}: {self.message}")
        return self


COUNTED = (
    "lines",
    "created",
    "updated",
    "unchanged",
    "archived",
    "failed",
    "skipped",
    "requests",
    "mutations",
    "complexity_spent",
    "rate_limited",
    "duplicates_found",
    "duplicates_removed",
    "cell_issues",
    "planned_operations",
)
_RANK = {"dry_run": 0, "success": 0, "partial": 1, "failed": 2, "refused": 3}


def combine(results: list[SyncResult], out_of_scope: int) -> SyncResult:
    """One result per customer from its per-board results (the first board's run id and board id)."""
    first = results[0]
    if len(results) == 1:
        first.out_of_scope = out_of_scope
        return first
    total = SyncResult(first.run_id, first.customer, first.board_id, first.dry_run, first.status)
    for result in results:
        for name in COUNTED:
            setattr(total, name, getattr(total, name) + getattr(result, name))
        total.seconds += result.seconds
        total.sample_payloads += result.sample_payloads
        total.failures += result.failures
        total.cell_issue_sample += result.cell_issue_sample
        total.plan += result.plan
        total.boards += result.boards
        if _RANK.get(result.status, 2) > _RANK.get(total.status, 2):
            total.status = result.status
    total.message = "; ".join(f"board {r.board_id}: {r.message}" for r in results if r.message)
    total.target, total.api_version, total.out_of_scope = first.target, first.api_version, out_of_scope
    total.failures = total.failures[:MAX_FAILURES_IN_RESULT]
    total.cell_issue_sample = total.cell_issue_sample[:MAX_ISSUES_IN_RESULT]
    return total
