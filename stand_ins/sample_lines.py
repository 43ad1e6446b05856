"""Synthetic ORDER_LIST slices for the tests and the bench (shape of the real table, made-up values).

Every line is in the default board scope (monday_board.json: ORDER TYPE RECEIVED, the open AAG
seasons: AAG_SEASON is the season shipping today by the default calendar); the customer season (the
group) varies."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import pandas as pd

from order_platform.monday.seasons import SeasonCalendar

AAG_SEASON = SeasonCalendar().open_seasons(dt.date.today(), 1)[0]
SIZES = ("XS", "S", "M", "L", "XL", "XXL", "32x30", "34x32")


def make_lines(count: int, customer: str = "GREYSON", *, seed: int = 7, sizes_per_line: int = 5) -> pd.DataFrame:
    """`count` order lines with stable record_uuids (deterministic per seed), `sizes_per_line` sizes each."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        chosen = rng.sample(SIZES, k=min(len(SIZES), sizes_per_line))
        row: dict[str, object] = {
            "record_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "AAG ORDER NUMBER": f"{customer[:3]}-{5000 + n // 4:05d}",
            "CUSTOMER NAME": customer,
            "CUSTOMER SEASON": rng.choice(["FA26", "HOLIDAY 26", None]),
            "AAG SEASON": AAG_SEASON,
            "PO NUMBER": f"PO{100000 + n}",
            "CUSTOMER STYLE": f"STY{n % 97:03d}",
            "CUSTOMER COLOUR DESCRIPTION": rng.choice(["NAVY", "WHITE", "BLACK"]),
            "ORDER TYPE": "RECEIVED",
            "ORDER DATE PO RECEIVED": dt.date(2025, 1, 1) + dt.timedelta(days=n % 200),
            "UNIT OF MEASURE": "EA",
            "CUSTOMER PRICE": round(rng.uniform(5, 80), 2),
            "US DUTY RATE": 0.165,
            "NOTES": None,
        }
        quantities = {size: rng.randint(1, 60) for size in SIZES if size in chosen}
        for size in SIZES:
            row[size] = quantities.get(size)
        row["TOTAL QTY"] = sum(quantities.values())
        rows.append(row)
    frame = pd.DataFrame(rows)
    for size in SIZES:
        frame[size] = frame[size].astype("Int64")
    return frame
