"""The sync under the fault mix, against the stand-in: does every line end right, and how soon?

    order-platform monday-fault-bench --lines 3000

Two runs of the same lines (make_lines, 5 sizes each) into a fresh state database and stand-in board
with 429s, 5xx, answers dropped after the commit and slow answers (`FaultMix`); after each run the
stand-in's own board is compared with the lines: items missing or with a wrong value (price, PO), lines
whose subitems differ (names and quantities), duplicate items. Time is compressed as in monday_bench:
the real 10,000,000-point budget per `window_seconds` (6 s) instead of per minute; the retry knobs are
the mapping's own (backoff from 1 s).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from order_platform.monday import MondayClient, MondaySettings, load_board_config, sync_customer
from order_platform.monday.mapping import Complexity
from order_platform.monday.plan.formatting import is_blank
from order_platform.warehouse.engine import make_engine
from stand_ins.monday_server import FakeMonday, FakeMondayServer
from stand_ins.sample_lines import SIZES, make_lines

TOKEN = "fault-bench-token"
PRICE, PO, QTY = "numeric_mkr5cact", "text_mkr5ej2x", "numeric_mkra7j8e"


@dataclass(frozen=True)
class FaultMix:
    rate_limit_rate: float = 0.05  # HTTP 429, waited out
    server_error_rate: float = 0.05  # HTTP 503, not applied
    drop_after_apply_rate: float = 0.10  # applied, then the connection closed without an answer
    delay_seconds: float = 0.3  # every answer this much later
    retry_after_seconds: float = 0.1
    fault_seed: int = 1


def board_errors(fake: FakeMonday, board_id: str, lines: pd.DataFrame) -> dict[str, int]:
    """What is wrong on the stand-in's board, line by line (its own contents, not the sync state)."""
    items = fake.active_items(board_id)
    ids = Counter(i.values.get("text_line_id") for i in items)
    by_id = {i.values.get("text_line_id"): i for i in items}
    missing = wrong_values = wrong_subitems = 0
    for row in lines.to_dict("records"):
        item = by_id.get(row["record_uuid"])
        if item is None:
            missing += 1
            continue
        if item.values.get(PRICE) != format(row["CUSTOMER PRICE"], "g") or item.values.get(PO) != row["PO NUMBER"]:
            wrong_values += 1
        wanted = {f"Size {s}": str(int(row[s])) for s in SIZES if not is_blank(row[s]) and int(row[s]) > 0}
        subitems = fake.subitems_of(item.id)
        if {s.name: s.values.get(QTY) for s in subitems} != wanted or len(subitems) != len(wanted):
            wrong_subitems += 1
    return {
        "items": len(items),
        "missing": missing,
        "wrong_values": wrong_values,
        "wrong_subitems": wrong_subitems,
        "duplicate_items": sum(n - 1 for n in ids.values() if n > 1),
    }


def run_fault_bench(lines: int, mix: FaultMix | None = None, *, runs: int = 2, window_seconds: float = 6.0) -> dict:
    mix = mix or FaultMix()
    config = load_board_config()
    config = config.with_knobs(complexity=Complexity(window_seconds=window_seconds))
    frame = make_lines(lines)
    out: dict[str, Any] = {"lines": lines, "sizes_per_line": 5, "fault_mix": asdict(mix), "runs": []}
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeMondayServer(token=TOKEN, window_seconds=window_seconds, **asdict(mix)) as server,
    ):
        server.fake.seed_from_config(config)
        settings = MondaySettings(api_token=TOKEN, api_url=server.url, board_id=None, api_version=None)
        engine = make_engine(f"sqlite:///{Path(tmp) / 'state.db'}")
        for _ in range(runs):
            started = time.monotonic()
            with MondayClient.from_settings(settings, config) as client:  # type: ignore[union-attr]
                result = sync_customer(engine, "GREYSON", frame, client, settings, config=config)
                ambiguous = client.stats.ambiguous
            stats = server.fake.stats
            out["runs"].append(
                {
                    "status": result.status,
                    "message": result.message,
                    "seconds": round(time.monotonic() - started, 1),
                    "created": result.created,
                    "updated": result.updated,
                    "requests": result.requests,
                    "ambiguous_batches": ambiguous,
                    "board": board_errors(server.fake, config.board.id, frame),
                    "faults_so_far": {"429": stats.responses_429, "5xx": stats.responses_5xx, "drops": stats.drops},
                }
            )
        engine.dispose()
    return out


def main(lines: int = 3000) -> None:
    print(json.dumps(run_fault_bench(lines), indent=2))
