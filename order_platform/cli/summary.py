"""Text summaries of loads for the CLI: one line per customer, then the totals."""

from __future__ import annotations

from collections import Counter
from typing import Any

from order_platform.defs.headless import RefreshOutcome
from order_platform.notify.notices import Notice


def _n(value: Any) -> str:
    return "-" if value is None else f"{int(value):,}"


def _monday(run: dict | None) -> str:
    if not run:
        return "monday: -"
    if run.get("status") in ("refused", "failed"):
        kind = "dry run " if run.get("dry_run") else ""
        return f"monday {kind}{run['status']}: {run.get('message') or 'no detail'}"
    if run.get("dry_run"):
        return f"monday dry run: {_n(run.get('created'))} to create, {_n(run.get('failed'))} invalid"
    return (
        f"monday {run.get('status', '')}: {_n(run.get('created'))} created, {_n(run.get('updated'))} updated, "
        f"{_n(run.get('unchanged'))} unchanged, {_n(run.get('archived'))} archived, {_n(run.get('failed'))} failed"
    )


def format_loads(loads: list[dict], monday: dict[str, dict] | None = None) -> str:
    header = f"{'CUSTOMER':<28} {'STATUS':<14} {'RAW':>7} {'STAGED':>7} {'QUARANT.':>8} {'PUBLISHED':>9}  NOTE"
    lines = [header, "-" * len(header)]
    for load in loads:
        note = (load.get("error") or "")[:160]
        if monday is not None and not note:
            note = _monday(monday.get(load["customer"]))[:400]
        lines.append(
            f"{load['customer'][:28]:<28} {load['status']:<14} {_n(load.get('raw_rows')):>7} "
            f"{_n(load.get('staged_rows')):>7} {_n(load.get('quarantined_rows')):>8} "
            f"{_n(load.get('published_rows')):>9}  {note}"
        )
    published = [x for x in loads if x["status"] == "published"]
    failed = sum(x["status"] == "failed" for x in loads)
    others = Counter(x["status"] for x in loads if x["status"] not in ("published", "failed"))
    lines.append("-" * len(header))
    lines.append(
        f"{len(published)} published, {failed} failed"
        + "".join(f", {n} {status.replace('_', ' ')}" for status, n in sorted(others.items()))
        + "; "
        f"raw {sum(x.get('raw_rows') or 0 for x in published):,} = "
        f"published {sum(x.get('published_rows') or 0 for x in published):,} + "
        f"quarantined {sum(x.get('quarantined_rows') or 0 for x in published):,}"
    )
    return "\n".join(lines)


def format_refresh(outcome: RefreshOutcome) -> str:
    finished = max((x["finished_at"] for x in outcome.loads if x.get("finished_at")), default=outcome.started)
    text = format_loads(outcome.loads, outcome.monday)
    if outcome.unchanged:
        text += f"\nunchanged (skipped): {', '.join(outcome.unchanged)}"
    if outcome.source_removed:
        text += (
            f"\nsource removed (workbook gone, ORDER_LIST slice kept; `order-platform retire NAME` retires): "
            f"{', '.join(outcome.source_removed)}"
        )
    for note in outcome.skipped_in_source:
        text += f"\nskipped in the source: {note}"
    for run_id in outcome.reaped_runs:
        text += f"\nrun {run_id} had died without ending: marked failed, its pool slots freed"
    runs = len(outcome.run_ids)
    text += (
        f"\n{len(outcome.customers)} customer(s) in {runs} Dagster run(s); "
        f"ORDER_LIST published in {(finished - outcome.started).total_seconds():.1f}s"
    )
    ahead = outcome.read_ahead
    if ahead and ahead.workbooks:
        text += (
            f"; read ahead while the run started: {ahead.workbooks} workbook(s), {ahead.rows:,} rows, "
            f"{ahead.cpu_seconds:.1f}s CPU"
        )
    failed = outcome.runs_failed
    if failed:
        text += f"; {failed} run(s) failed (details in the Dagster UI: `make ui`)"
        for reason in outcome.run_errors or ["no reason recorded: see the run's logs in the Dagster UI"]:
            text += f"\nerror: {reason[:1000]}"
    for notice in outcome.notices:
        text += "\n" + _notice(notice)
    return text


_NOTICE_STATUS = {
    "sent": "sent to Teams",
    "logged": "in the run log (TEAMS_WEBHOOK_URL not set)",
    "failed": "NOT delivered to Teams (logged and recorded in PLATFORM_NOTIFICATIONS)",
    "already": "already sent for this run",
}


def _notice(notice: Notice) -> str:
    what = "change summary" if notice.kind == "changes" else f"{notice.kind} message"
    detail = f": {notice.detail}" if notice.detail else ""
    attempts = f" ({notice.attempts} attempts)" if notice.attempts > 1 else ""
    return f"{what}: {_NOTICE_STATUS.get(notice.status, notice.status)}{attempts}{detail}"
