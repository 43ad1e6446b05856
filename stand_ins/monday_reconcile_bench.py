"""Bench of `reconcile-board` on a full board (10,000 items) against the local stand-in over HTTP.

    python -m stand_ins.monday_reconcile_bench 10000

The board is filled by a normal sync first (under a budget large enough to be quick), then the
stand-in gets monday.com's budget (10,000,000 points per window, the window compressed to 6 s like
the sync bench) and its counters are reset. Two reconciles are measured: the board as synced
(unchanged: reads only), then after a person changed 1% of the items (cells, deleted, moved items,
subitems). Figures: requests, mutations, complexity (per read page and in all, the largest request vs.
monday.com's 5,000,000 per query), 429s, seconds.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from order_platform.monday.api.client import MondayClient
from order_platform.monday.api.settings import MondaySettings
from order_platform.monday.mapping import Complexity, load_board_config
from order_platform.monday.plan.lines import FrameSource
from order_platform.monday.reconcile.result import ReconcileResult
from order_platform.monday.reconcile.run import reconcile_sources
from order_platform.monday.sync import sync_customer
from order_platform.warehouse.engine import make_engine
from stand_ins.monday_person import BoardPerson
from stand_ins.monday_server import FakeMondayServer, FakeStats
from stand_ins.sample_lines import make_lines

BUDGET = 10_000_000
MAX_QUERY = 5_000_000
TOKEN = "bench-token"
PRICE = "numeric_mkr5cact"


def run_reconcile_bench(items: int = 10_000, *, window_seconds: float = 6.0, sizes_per_line: int = 3) -> dict[str, Any]:
    config = load_board_config().with_scope()
    config = config.with_knobs(
        complexity=Complexity(
            budget_per_minute=BUDGET,
            window_seconds=window_seconds,
            estimated_mutation_cost=config.sync.complexity.estimated_mutation_cost,
            estimated_query_cost=config.sync.complexity.estimated_query_cost,
            safety_margin_points=config.sync.complexity.safety_margin_points,
        )
    )
    frame = make_lines(items, sizes_per_line=sizes_per_line)
    source = FrameSource(frame)
    with tempfile.TemporaryDirectory() as tmp, FakeMondayServer(token=TOKEN, budget=10**13) as server:
        fake = server.fake
        fake.seed_from_config(config)
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        settings = MondaySettings(api_token=TOKEN, api_url=server.url, board_id=None, api_version=None)
        started = time.monotonic()
        with _client(settings, config) as client:
            filled = sync_customer(engine, "GREYSON", source, client, settings, config=config)
        fill_seconds = time.monotonic() - started
        fake.budget, fake.window_seconds = BUDGET, window_seconds  # monday.com's budget from here on

        def measure(run: str) -> dict[str, Any]:
            with fake.lock:
                fake.stats, fake._window_start = FakeStats(), None
            with _client(settings, config) as client:  # a fresh client: nothing learned yet, like a new run
                result = reconcile_sources(
                    engine, lambda _c: source, ["GREYSON"], client, settings, config=config, run=run
                )
            return _figures(result, fake.stats, fake.stats.windows)

        unchanged = measure("bench-unchanged")
        board = fake.boards[config.board.id]
        person = BoardPerson(fake, board.id)
        live = [fake.items[i] for i in board.item_ids if fake.items[i].state == "active"]
        edits = max(1, items // 100)
        for item in live[:edits]:
            person.set_value(item.id, PRICE, "99")
        for item in live[edits : edits + edits // 4]:
            person.delete(item.id)
        for item in live[edits * 2 : edits * 2 + edits // 4]:
            person.move(item.id, "PARKED BY HAND")
        for item in live[edits * 3 : edits * 3 + edits // 4]:
            subs = fake.subitems_of(item.id)
            if subs:
                person.set_subitem_qty(item.id, subs[0].name, "1")
        repaired = measure("bench-drift")
        again = measure("bench-again")
        engine.dispose()
    return {
        "items": items,
        "sizes_per_line": sizes_per_line,
        "window_seconds": window_seconds,
        "budget_per_window": BUDGET,
        "fill_sync": {"status": filled.status, "created": filled.created, "seconds": round(fill_seconds, 1)},
        "unchanged_board": unchanged,
        "after_people_changed_1_percent": repaired,
        "second_reconcile_right_after": again,
        "targets_met": {
            "unchanged: 0 mutations": unchanged["mutations"] == 0,
            "largest request <= 5,000,000": max(unchanged["largest_request"], repaired["largest_request"]) <= MAX_QUERY,
            "no 429": unchanged["responses_429"] == 0 and repaired["responses_429"] == 0,
            "second reconcile: nothing found, 0 mutations": again["findings"] == 0 and again["mutations"] == 0,
        },
    }


def _client(settings: MondaySettings, config: Any) -> MondayClient:
    client = MondayClient.from_settings(settings, config)
    assert client is not None
    return client


def _figures(result: ReconcileResult, stats: FakeStats, windows: list[dict[str, float]]) -> dict[str, Any]:
    greyson = result.customers["GREYSON"]
    return {
        "status": greyson.status,
        "findings": len(greyson.findings),
        "by_action": greyson.counts(),
        "items_read": sum(b["items_read"] for b in result.boards),
        "read_pages": sum(b["pages"] for b in result.boards),
        "requests": result.requests,
        "mutations": result.mutations,
        "complexity_spent": result.complexity_spent,
        "largest_request": stats.largest_request,
        "responses_429": stats.responses_429,
        "budget_windows": len(windows),
        "seconds": result.seconds,
    }


def main(argv: list[str] | None = None) -> None:
    args = argv if argv is not None else sys.argv[1:]
    items = int(args[0]) if args else 10_000
    print(json.dumps(run_reconcile_bench(items), indent=2))


if __name__ == "__main__":
    main()
