"""Bench of `reconcile-board` on a full board (10,000 items) against the local stand-in over HTTP.

    python -m stand_ins.monday_reconcile_bench 10000 [stand-in|sync]

The board is filled server-side with exactly the items and subitems a sync would make, and a first
reconcile adopts them (the sync state lost: reads only, 0 mutations); `sync` fills it with a real
sync instead (~40,000 mutations through the stand-in: slow). Then the stand-in gets monday.com's
budget (10,000,000 points per window, the window compressed to 6 s like the sync bench) and three
reconciles are measured: the board unchanged (reads only), after a person changed 1% of the items
(cells, deleted and moved items, subitem quantities), and right after that one. Figures: requests,
mutations, complexity (in all, and the largest request vs. monday.com's 5,000,000 per query), 429s,
budget windows, seconds (the stand-in's own work included: it executes every read in Python).
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
from order_platform.monday.mapping import BoardConfig, Complexity, load_board_config
from order_platform.monday.plan.lines import FrameSource, needed_columns
from order_platform.monday.plan.payloads import build_payloads, subitem_name
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


def compressed_window(config: BoardConfig, window_seconds: float) -> BoardConfig:
    """The mapping with the budget's window shortened, so a bench paces as monday.com does in seconds."""
    complexity = config.sync.complexity
    return config.with_knobs(
        complexity=Complexity(
            budget_per_minute=BUDGET,
            window_seconds=window_seconds,
            estimated_mutation_cost=complexity.estimated_mutation_cost,
            estimated_query_cost=complexity.estimated_query_cost,
            safety_margin_points=complexity.safety_margin_points,
        )
    )


def run_reconcile_bench(
    items: int = 10_000, *, window_seconds: float = 6.0, sizes_per_line: int = 3, fill: str = "stand-in"
) -> dict[str, Any]:
    """`fill`: "stand-in" puts the items the platform would make on the board server-side and lets a first
    reconcile adopt them (the sync state lost: measured too, 0 mutations); "sync" fills it with a real
    sync (slow: ~40,000 mutations through the stand-in)."""
    config = load_board_config().with_scope()
    config = compressed_window(config, window_seconds)
    frame = make_lines(items, sizes_per_line=sizes_per_line)
    source = FrameSource(frame)
    with tempfile.TemporaryDirectory() as tmp, FakeMondayServer(token=TOKEN, budget=10**13) as server:
        fake = server.fake
        fake.seed_from_config(config)
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        settings = MondaySettings(api_token=TOKEN, api_url=server.url, board_id=None, api_version=None)
        started = time.monotonic()
        if fill == "sync":
            with _client(settings, config) as client:
                filled = sync_customer(engine, "GREYSON", source, client, settings, config=config)
            filling: dict[str, Any] = {"by": "sync", "status": filled.status, "created": filled.created}
        else:
            filling = {"by": "stand-in", "items": seed_board(fake, config, source)}
        filling["seconds"] = round(time.monotonic() - started, 1)
        fake.budget, fake.window_seconds = BUDGET, window_seconds  # monday.com's budget from here on

        def measure(run: str) -> dict[str, Any]:
            with fake.lock:
                fake.stats, fake._window_start = FakeStats(), None
            with _client(settings, config) as client:  # a fresh client: nothing learned yet, like a new run
                result = reconcile_sources(
                    engine, lambda _c: source, ["GREYSON"], client, settings, config=config, run=run
                )
            return _figures(result, fake.stats, fake.stats.windows)

        adopted = measure("bench-adopt") if fill != "sync" else None
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
        "filled": filling,
        "state_lost_board_adopted": adopted,
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


def seed_board(fake: Any, config: Any, source: FrameSource) -> int:
    """The items and subitems a sync would make, written server-side (values validated like the API)."""
    person = BoardPerson(fake, config.board.id)
    size, qty = config.size_column.monday_column_id, config.qty_column.monday_column_id
    count = 0
    for chunk in source.chunks(config, 0, "GREYSON", None, needed_columns(config)):
        for payload in build_payloads(chunk, "GREYSON", config).lines.values():
            item = person.add_item(payload.item_name, group_title=payload.group_title, values=payload.create_values())
            for name, quantity in payload.sizes.items():
                person.add_subitem(item, subitem_name(config, name), {size: {"labels": [name]}, qty: str(quantity)})
            count += 1
    return count


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
    fill = args[1] if len(args) > 1 else "stand-in"
    print(json.dumps(run_reconcile_bench(items, fill=fill), indent=2))


if __name__ == "__main__":
    main()
