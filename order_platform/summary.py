"""Text summaries of loads for the CLI: one line per customer, then the totals."""

from __future__ import annotations

from order_platform.headless import RefreshOutcome


def _n(value: object) -> str:
    return "-" if value is None else f"{int(value):,}"


def format_loads(loads: list[dict]) -> str:
    header = (
        f"{'CUSTOMER':<36} {'STATUS':<10} {'RAW':>8} {'STAGED':>8} {'QUARANT.':>8} {'PUBLISHED':>9}  NOTE"
    )
    lines = [header, "-" * len(header)]
    for load in loads:
        note = (load.get("error") or "")[:160]
        lines.append(
            f"{load['customer'][:36]:<36} {load['status']:<10} {_n(load.get('raw_rows')):>8} "
            f"{_n(load.get('staged_rows')):>8} {_n(load.get('quarantined_rows')):>8} "
            f"{_n(load.get('published_rows')):>9}  {note}"
        )
    published = [x for x in loads if x["status"] == "published"]
    lines.append("-" * len(header))
    lines.append(
        f"{len(published)} published, {len(loads) - len(published)} failed; "
        f"raw {sum(x.get('raw_rows') or 0 for x in published):,} = "
        f"published {sum(x.get('published_rows') or 0 for x in published):,} + "
        f"quarantined {sum(x.get('quarantined_rows') or 0 for x in published):,}"
    )
    return "\n".join(lines)


def format_refresh(outcome: RefreshOutcome) -> str:
    seconds = max((x["finished_at"] for x in outcome.loads), default=outcome.started) - outcome.started
    text = format_loads(outcome.loads)
    if outcome.unchanged:
        text += f"\nunchanged (skipped): {', '.join(outcome.unchanged)}"
    runs = len(outcome.run_ids)
    text += f"\n{len(outcome.customers)} customer(s) in {runs} Dagster run(s), {seconds.total_seconds():.1f}s"
    if outcome.runs_failed:
        text += f"; {outcome.runs_failed} run(s) failed (see the Dagster UI)"
    return text
