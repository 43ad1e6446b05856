"""Speed bench of the monday.com sync against the local fake board (fake_server), over real HTTP,
and of the dry-run plan of the demo's published ORDER_LIST (all of it, every line in scope).

    python -m stand_ins.monday_bench 1000

Reports (targets from the issue):
- requests per order line including its subitems for a full first sync (<= 0.2);
- a re-run with nothing changed (<= 1 request per 500 lines, 0 mutations);
- sustained complexity throughput vs. the budget (>= 80 %, no 429 once paced).

Time is compressed: the fake grants the real 10,000,000-point budget per `window_seconds` (default
6 s instead of 60 s) and charges 10,000 points per mutation like monday; utilisation is a ratio, so it
carries over to the real per-minute window. "Per-window utilisation" is the mean share of the budget
spent in each completed window (the last, partial window is excluded).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from order_platform.monday.api.client import MondayClient
from order_platform.monday.api.settings import MondaySettings
from order_platform.monday.dry_runs import dry_run_plans, published_customers
from order_platform.monday.mapping import load_board_config
from order_platform.monday.sync import sync_customer
from order_platform.settings import PlatformSettings
from order_platform.warehouse.engine import make_engine
from stand_ins.monday_reconcile_bench import compressed_window
from stand_ins.monday_server import FakeMondayServer
from stand_ins.sample_lines import make_lines

BUDGET = 10_000_000
TOKEN = "bench-token"


def run_monday_bench(lines: int, *, window_seconds: float = 6.0, sizes_per_line: int = 5) -> dict[str, Any]:
    """Full sync, unchanged re-run and paced throughput for `lines` synthetic order lines."""
    config = load_board_config()
    config = compressed_window(config, window_seconds)
    frame = make_lines(lines, sizes_per_line=sizes_per_line)
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeMondayServer(token=TOKEN, budget=BUDGET, window_seconds=window_seconds) as server,
    ):
        server.fake.seed_from_config(config, with_external_id=False)
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        settings = MondaySettings(api_token=TOKEN, api_url=server.url, board_id=None, api_version=None)
        client = MondayClient.from_settings(settings, config)
        assert client is not None
        with client:
            started = time.monotonic()
            full = sync_customer(engine, "GREYSON", frame, client, settings, config=config)
            full_seconds = time.monotonic() - started
            windows = [w["spent"] / BUDGET for w in server.fake.stats.windows]
            complete = windows[:-1]
            full_429 = server.fake.stats.responses_429
            rerun = sync_customer(engine, "GREYSON", frame, client, settings, config=config)
        engine.dispose()
    points = full.complexity_spent
    utilisation = sum(complete) / len(complete) if complete else None
    budget_rate = BUDGET / window_seconds
    return {
        "lines": lines,
        "sizes_per_line": sizes_per_line,
        "full_sync": {
            "status": full.status,
            "created": full.created,
            "failed": full.failed,
            "requests": full.requests,
            "mutations": full.mutations,
            "requests_per_line": round(full.requests / lines, 4),
            "seconds": round(full_seconds, 2),
            "complexity_spent": points,
            "responses_429": full_429,
        },
        "unchanged_rerun": {
            "status": rerun.status,
            "unchanged": rerun.unchanged,
            "requests": rerun.requests,
            "mutations": rerun.mutations,
            "requests_per_500_lines": round(rerun.requests * 500 / lines, 4),
        },
        "throughput": {
            "window_seconds": window_seconds,
            "budget_per_window": BUDGET,
            "windows": len(windows),
            "per_window_utilisation": [round(w, 3) for w in windows],
            "mean_utilisation_complete_windows": None if utilisation is None else round(utilisation, 3),
            "points_per_second_vs_budget_rate": round(points / full_seconds / budget_rate, 3),
            "projected_lines_per_real_minute": None
            if utilisation is None
            else round(BUDGET * utilisation / (points / lines), 1),
        },
        "targets_met": {
            "requests_per_line<=0.2": full.requests / lines <= 0.2,
            "rerun<=1_request_per_500_lines_and_0_mutations": rerun.requests * 500 / lines <= 1
            and rerun.mutations == 0,
            "utilisation>=0.8_no_429": utilisation is not None and utilisation >= 0.8 and full_429 == 0,
        },
    }


def run_dry_run_plan_bench(database: Path, *, workers: int | None = None) -> dict[str, Any]:
    """The dry-run plan of every published line of `database` (a copy), every line in scope and no item
    limit (so every customer is planned in full): seconds, lines, lines/s, peak memory of a worker."""
    if not database.exists():
        return {"skipped": f"no {database}: run `make demo` first"}
    config = load_board_config().with_scope()
    config = config.with_boards(config.board.model_copy(update={"item_limit": 10**9}))
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "plan.db"
        with sqlite3.connect(database) as source, sqlite3.connect(copy) as target:
            source.backup(target)  # consistent even while the demo's database is in use
        url = f"sqlite:///{copy}"
        customers = published_customers(url)
        started = time.perf_counter()
        results, peak_kib, cpu = dry_run_plans(url, customers, workers=workers, config=config)
        seconds = time.perf_counter() - started
    lines = sum(r.lines for r in results)
    return {
        "customers": len(results),
        "lines": lines,
        "planned_operations": sum(r.planned_operations for r in results),
        "cell_issues": sum(r.cell_issues for r in results),
        "seconds": round(seconds, 2),
        "cpu_seconds_all_workers": round(cpu, 2),
        "lines_per_second": round(lines / seconds) if seconds else None,
        "workers": workers or min(2, os.cpu_count() or 1),
        "chunk_lines": config.sync.chunk_lines,
        "peak_worker_memory_mb": round(peak_kib / 1024),
        "target_met": {"<=5s": seconds <= 5.0},
    }


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    lines = int(args[0]) if args else 1000
    window = float(args[1]) if len(args) > 1 else 6.0
    reconcile_items = int(args[2]) if len(args) > 2 else 10_000
    out = {"sync": run_monday_bench(lines, window_seconds=window)}
    if reconcile_items:
        from stand_ins.monday_reconcile_bench import run_reconcile_bench

        out["reconcile"] = run_reconcile_bench(reconcile_items, window_seconds=window)
    url = str(PlatformSettings().database_url)
    if url.startswith("sqlite:///"):
        out["dry_run_plan"] = run_dry_run_plan_bench(Path(url.removeprefix("sqlite:///")))
    else:
        out["dry_run_plan"] = {"skipped": "the dry-run plan bench reads the embedded SQLite database"}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
