"""The messages, as Teams Workflows bodies (a message with one Adaptive Card) and as plain text for the
run log: the change summary of a run, and its failure message."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from order_platform.notify.redact import one_line, redact
from order_platform.warehouse.changes.report import CustomerChanges, change_text, line_label

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
MAX_BODY_BYTES = 24 * 1024  # Teams refuses messages over 28 KB; room left for its envelope
CHANGES_PER_CUSTOMER = 5
CUSTOMERS_SHOWN = 15


@dataclass
class FailedCustomer:
    customer: str
    workbook: str | None
    error: str


@dataclass
class BoardReport:
    """What a customer's board sync reports: lines monday.com refused or that failed, and drift repaired."""

    customer: str
    status: str = ""
    failed_lines: int = 0
    refused: bool = False
    drift_repaired: int = 0  # board changes made by hand that the reconcile set back (MONDAY_DRIFT)
    drift_reported: int = 0  # differences only recorded (people's items and columns, failed repairs)
    message: str | None = None

    @property
    def worth_telling(self) -> bool:
        return bool(self.failed_lines or self.refused or self.drift_repaired or self.drift_reported)

    def text(self) -> str:
        parts = []
        if self.refused:
            parts.append(f"sync refused: {one_line(self.message, 160)}" if self.message else "sync refused")
        if self.failed_lines:
            parts.append(f"{self.failed_lines} line(s) refused by the board (retried next run)")
        if self.drift_repaired:
            parts.append(f"{self.drift_repaired} board change(s) by hand repaired")
        if self.drift_reported:
            parts.append(f"{self.drift_reported} difference(s) reported, not repaired (MONDAY_DRIFT)")
        return f"{self.customer}: " + "; ".join(parts)


@dataclass
class Message:
    kind: str  # changes | failure
    title: str
    text: str  # the same content as plain text (the run log, and the log when Teams is not configured)
    body: dict[str, Any] = field(default_factory=dict)  # the Workflows body


def workflows_body(blocks: list[dict[str, Any]], run_url: str | None) -> dict[str, Any]:
    card: dict[str, Any] = {"type": "AdaptiveCard", "version": CARD_VERSION, "body": blocks}
    if run_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the run in Dagster", "url": run_url}]
    return {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}]}


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def change_summary(
    groups: list[CustomerChanges], board: list[BoardReport], run_url: str | None, where: str = ""
) -> Message:
    """One message for a run: each customer with changes, its counts and most significant changes; then
    the board's refusals and repairs. Shortened (fewer changes, then customers) to fit Teams' limit."""
    telling = [b for b in board if b.worth_telling]
    title = f"ORDER_LIST changes{where}: {len(groups)} customer(s)"
    if telling:
        title += f", board issues for {len(telling)}"
    for per_customer, customers in ((CHANGES_PER_CUSTOMER, CUSTOMERS_SHOWN), (3, 10), (1, 10), (0, 5), (0, 0)):
        message = _summary(groups, telling, run_url, title, per_customer, customers)
        if len(json.dumps(message.body)) <= MAX_BODY_BYTES:
            return message
    return message


def _summary(
    groups: list[CustomerChanges],
    board: list[BoardReport],
    run_url: str | None,
    title: str,
    per_customer: int,
    customers: int,
) -> Message:
    blocks = [_text(title, size="Medium", weight="Bolder")]
    lines = [title]
    for group in groups[:customers]:
        head = f"{group.customer}: {group.counts_text()}"
        blocks.append(_text(f"**{redact(group.customer)}**: {group.counts_text()}", spacing="Medium"))
        lines.append(head)
        shown = [f"{line_label(c)}: {change_text(c)}" for c in group.changes[:per_customer]]
        if shown:
            blocks.append(_text("\n".join(f"- {redact(s)}" for s in shown)))
            lines.extend(f"  {s}" for s in shown)
        more = len(group.changes) - len(shown)
        if more > 0 and per_customer:
            blocks.append(_text(f"… and {more} more change(s)", isSubtle=True))
    if len(groups) > customers:
        rest = ", ".join(g.customer for g in groups[customers:])
        blocks.append(_text(f"Also changed: {redact(rest)}"[:1000]))
        lines.append(f"also changed: {rest}")
    if board:
        blocks.append(_text("monday.com board", weight="Bolder", spacing="Medium"))
        lines.append("monday.com board:")
        for report in board:
            blocks.append(_text(redact(report.text())))
            lines.append(f"  {report.text()}")
    blocks.append(_text("Details: `order-platform changes`", isSubtle=True))
    if run_url:
        lines.append(f"run: {run_url}")
    return Message("changes", title, "\n".join(lines), workflows_body(blocks, run_url))


def failure_message(
    failed: list[FailedCustomer], run_error: str | None, run_url: str | None, where: str = ""
) -> Message:
    """One message for a failed run: each failed customer, its workbook and its error in one line."""
    if failed:
        title = f"ORDER_LIST refresh{where}: {len(failed)} customer(s) failed"
    else:
        title = f"ORDER_LIST refresh{where} failed"
    blocks = [_text(title, size="Medium", weight="Bolder", color="Attention")]
    lines = [title]
    facts = []
    for failure in failed[:40]:
        workbook = failure.workbook.rsplit("/", 1)[-1] if failure.workbook else "no workbook"
        line = one_line(f"{workbook}: {failure.error}")
        facts.append({"title": redact(failure.customer), "value": line})
        lines.append(f"{failure.customer}: {line}")
    if facts:
        blocks.append({"type": "FactSet", "facts": facts})
    if len(failed) > 40:
        blocks.append(_text(f"… and {len(failed) - 40} more"))
    if run_error and not failed:
        blocks.append(_text(one_line(run_error)))
        lines.append(one_line(run_error))
    if run_url:
        lines.append(f"run: {run_url}")
    return Message("failure", title, "\n".join(lines), workflows_body(blocks, run_url))
