"""Realistic sample workbooks: the 46 customers' real header rows, ~101,500 lines, hand-edited mess.

The mess is the kind the order team's files carry: title rows above the header, blank rows, a
TOTAL row, numbers typed as text (`1,200`), `TBC` in dates and numbers, extra sheets, lines
without an AAG ORDER NUMBER, an overflowing price, an over-long description, a TOTAL QTY that
disagrees with its sizes, text in a number column (`V147`), Excel error values (`#REF!`), a partial
date, a line naming another customer, and text dates written as the region writes them (month first
in `USA CUSTOMERS`). Generation is seeded, so the same call writes the same workbooks.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

from order_platform.config.loading import StrictModel, read_config_file, read_packaged_config
from order_platform.ingest.source import WORKBOOK_SUFFIX
from order_platform.schema import Kind, order_list_schema
from order_platform.staging.customers import CustomersFile, customer_directory

TOTAL_LINES = 101_500
REGION_FOLDERS = ("USA CUSTOMERS", "AUS Customers", "EU CUSTOMERS", "_PAST Customers")
SEASONS = ("2025 SPRING", "2025 SUMMER", "2025 FALL", "2026 SPRING", "2026 FALL", "2026 HOLIDAY")
DELIVERY = ("SEA", "AIR", "COURIER", "SEA-AIR")
ORDER_TYPES = ("RECEIVED", "ACTIVE", "Received", "CANCELLED", "DEVELOPMENT", "STOCK")
COLOURS = ("BLACK", "WHITE", "NAVY", "HEATHER GREY", "OLIVE", "SAND", "CORAL", "FOREST", "LILAC", "STONE")
GARMENTS = ("TEE", "HOODIE", "JOGGER", "SHORT", "POLO", "LEGGING", "BRA", "JACKET", "VEST", "CREW")


@dataclass(frozen=True)
class SampleWorkbook:
    customer_in_file_name: str
    path: Path
    lines: int


CUSTOMER_HEADERS = Path(__file__).with_name("customer_headers.json")


class CustomerHeadersFile(StrictModel):
    """stand_ins/customer_headers.json: each customer's real header row (keys are raw-table suffixes); read by
    the sample data and the tests only, so it stays out of the production wheel."""

    headers: dict[str, list[str]]


def customer_headers() -> dict[str, list[str]]:
    return read_config_file(CustomerHeadersFile, CUSTOMER_HEADERS).headers


def _line_counts(names: list[str], total: int, rng: random.Random) -> dict[str, int]:
    weights = [rng.paretovariate(1.2) for _ in names]
    scale = total / sum(weights)
    counts = {n: max(40, round(w * scale)) for n, w in zip(names, weights, strict=True)}
    largest = max(counts, key=counts.__getitem__)
    counts[largest] += total - sum(counts.values())
    return counts


def generate_sample_workbooks(
    target: Path, total_lines: int = TOTAL_LINES, seed: int = 7, workers: int = 2
) -> list[SampleWorkbook]:
    """Write one workbook per customer under `target/<region>/`; returns what was written."""
    headers = customer_headers()
    rng = random.Random(seed)
    counts = _line_counts(sorted(headers), total_lines, rng)
    jobs = [
        (name.replace("_", " "), headers[name], counts[name], seed + i, target / REGION_FOLDERS[i % 4])
        for i, name in enumerate(sorted(headers))
    ]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_write_customer_star, jobs))


def _write_customer_star(args: tuple) -> SampleWorkbook:
    return write_customer_workbook(*args)


def write_customer_workbook(customer: str, headers: list[str], lines: int, seed: int, folder: Path) -> SampleWorkbook:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{customer}{WORKBOOK_SUFFIX}"
    book = Workbook(write_only=True)
    mess = _Mess(rng, month_first=folder.name.upper().startswith("USA"))
    first_sheet = "MASTER" if rng.random() < 0.8 else "ORDERS"
    if first_sheet != "MASTER" and rng.random() < 0.5:
        book.create_sheet("NOTES").append(["Sheet kept by the planner; not order data"])
    sheet = book.create_sheet(first_sheet)
    if mess.title_rows:
        sheet.append([f"{customer} ORDER LIST"])
        sheet.append([f"Updated {date(2026, 11, 1).isoformat()}"])
        sheet.append([])
    sheet.append(headers)
    total_qty = 0
    for row in _rows(customer, headers, lines, rng, mess):
        sheet.append(row)
        if mess.blank_rows and rng.random() < 0.002:
            sheet.append([])
    if mess.total_row:
        total_index = headers.index("TOTAL QTY") if "TOTAL QTY" in headers else 1
        sheet.append(["TOTAL"] + [None] * (total_index - 1) + [total_qty])
    if rng.random() < 0.4:
        book.create_sheet("PIVOT").append(["Season", "Qty"])
    book.save(path)
    return SampleWorkbook(customer, path, lines)


class _Mess:
    """Which kinds of hand-editing this customer's file shows."""

    def __init__(self, rng: random.Random, month_first: bool = False) -> None:
        self.month_first = month_first  # how this customer types dates as text
        self.title_rows = rng.random() < 0.15
        self.blank_rows = rng.random() < 0.5
        self.total_row = rng.random() < 0.3
        self.rng = rng

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


def _rows(customer: str, headers: list[str], lines: int, rng: random.Random, mess: _Mess) -> Iterator[list]:
    schema = order_list_schema()
    kinds = [schema.by_name.get(schema.canonical_for(h) or "") for h in headers]
    size_positions = [i for i, c in enumerate(kinds) if c is not None and c.is_size]
    position = {(c.name if c else h): i for i, (h, c) in enumerate(zip(headers, kinds, strict=True))}
    directory = customer_directory()
    canonical = directory.partition_key(customer)
    names = [n for n in _names_in_files(canonical)] or [customer]
    prefix = "".join(ch for ch in canonical if ch.isalpha())[:3].upper()
    order_no = rng.randint(1000, 5000)
    lines_left_in_order = 0
    style = colour = po = season = None
    for _ in range(lines):
        if lines_left_in_order == 0:
            order_no += 1
            lines_left_in_order = rng.randint(1, 30)
            po = str(rng.randint(100000, 999999))
            season = rng.choice(SEASONS)
            ordered = date(2025, 1, 1) + timedelta(days=rng.randint(0, 600))
            delivery = rng.choice(DELIVERY)
        assert season is not None  # chosen with the first order, before the first line
        lines_left_in_order -= 1
        style = f"{prefix}{rng.randint(100, 999)}-{rng.choice(GARMENTS)}"
        colour = rng.choice(COLOURS)
        row: list = [None] * len(headers)
        sized = rng.sample(size_positions, k=min(len(size_positions), rng.randint(1, 6)))
        total = 0
        for i in sized:
            qty = rng.choice((6, 12, 24, 36, 48, 60, 120, 240, 1200))
            total += qty
            row[i] = f"{qty:,}" if qty >= 1000 and mess.chance(0.3) else qty
        values = {
            "AAG ORDER NUMBER": f"{prefix}-{order_no:05d}",
            "CUSTOMER NAME": rng.choice(names),
            "ORDER DATE PO RECEIVED": ordered,
            "PO NUMBER": po,
            "CUSTOMER ALT PO": f"ALT{po}" if mess.chance(0.2) else None,
            "AAG SEASON": season,
            "CUSTOMER SEASON": season.split()[1][:2] + season.split()[0][2:] if mess.chance(0.8) else None,
            "DROP": f"DROP {rng.randint(1, 4)}",
            "CATEGORY": rng.choice(GARMENTS).title(),
            "PATTERN ID": f"P{rng.randint(10000, 99999)}",
            "CUSTOMER STYLE": style,
            "STYLE DESCRIPTION": f"{colour.title()} {rng.choice(GARMENTS).lower()} with logo",
            "CUSTOMER'S COLOUR CODE (CUSTOM FIELD) CUSTOMER PROVIDES THIS": colour[:3],
            "CUSTOMER COLOUR DESCRIPTION": colour,
            "UNIT OF MEASURE": "EA",
            "TOTAL QTY": total,
            "DESTINATION": rng.choice(("USA", "AUS", "UK", "CAN", "NZ")),
            "DESTINATION WAREHOUSE": rng.choice(("LA DC", "SYD DC", "LONDON 3PL", "TORONTO")),
            "ETA CUSTOMER WAREHOUSE DATE": ordered + timedelta(days=rng.randint(60, 150)),
            "EX FACTORY DATE": ordered + timedelta(days=rng.randint(30, 90)),
            "DELIVERY TERMS": rng.choice(("FOB", "DDP", "EXW")),
            "PLANNED DELIVERY METHOD": delivery,
            "ORDER TYPE": rng.choice(ORDER_TYPES),
            "CUSTOMER PRICE": round(rng.uniform(8, 90), 2),
            "EX WORKS (USD)": round(rng.uniform(5, 40), 4),
            "FINAL FOB (USD)": round(rng.uniform(5, 60), 4),
            "US DUTY RATE": round(rng.uniform(0, 0.32), 4),
            "NOTES": "Rush" if mess.chance(0.05) else None,
        }
        for name, value in values.items():
            if name in position:
                row[position[name]] = value
        _fill_other_columns(row, headers, kinds, rng)
        _make_mess(row, position, headers, mess)
        yield row


# Text columns that hold amounts in practice (fees, rates, prices typed as text in ORDER_LIST).
_AMOUNT_WORDS = (
    "FEE",
    "DISCOUNT",
    "PRICE",
    "DUTY",
    "FREIGHT",
    "TARIFF",
    "RATE",
    "CIF",
    "INSURANCE",
    "MARGIN",
    "RRP",
    "DEC",
    "(USD)",
    "PNP",
    "PRODUCT",
)


def _fill_other_columns(row: list, headers: list[str], kinds: list, rng: random.Random) -> None:
    for i, column in enumerate(kinds):
        if row[i] is not None or column is None or column.is_size or rng.random() < 0.6:
            continue
        if column.kind is Kind.TEXT and any(word in column.name.upper() for word in _AMOUNT_WORDS):
            row[i] = round(rng.uniform(0, 20), 2)
        elif column.kind is Kind.TEXT:
            row[i] = f"{headers[i][:12].strip()} {rng.randint(1, 40)}"
        elif column.kind is Kind.DECIMAL:
            row[i] = round(rng.uniform(0, 20), 2)
        elif column.kind is Kind.DATE:
            row[i] = date(2025, 6, 1) + timedelta(days=rng.randint(0, 300))
        elif column.kind in (Kind.INT, Kind.SMALLINT):
            row[i] = rng.randint(1, 12)


def _make_mess(row: list, position: dict[str, int], headers: list[str], mess: _Mess) -> None:
    def put(column: str, value: object, p: float) -> None:
        if column in position and mess.chance(p):
            row[position[column]] = value

    put("ORDER DATE PO RECEIVED", "TBC", 0.01)
    if "EX FACTORY DATE" in position and isinstance(row[position["EX FACTORY DATE"]], date):
        d = row[position["EX FACTORY DATE"]]
        put("EX FACTORY DATE", d.strftime("%m/%d/%Y" if mess.month_first else "%d/%m/%Y"), 0.02)
        put("EX FACTORY DATE", d.isoformat(), 0.01)
    put("ETA CUSTOMER WAREHOUSE DATE", "TBA", 0.01)
    put("CUSTOMER PRICE", "TBC", 0.005)
    put("AAG ORDER NUMBER", None, 0.0025)
    # Cells that cannot be typed: published as NULL and listed as cell issues; their lines are loaded.
    put("CUSTOMER PRICE", 123456789.5, 0.0002)  # overflows DECIMAL(10,4)
    put("STYLE DESCRIPTION", "Long description " * 8, 0.0002)
    put("INVOICE YEAR", "V147", 0.01)
    put("CUSTOMER PRICE", "#REF!", 0.0005)  # a real Excel error cell (openpyxl writes t="e")
    put("US DUTY RATE", "#DIV/0!", 0.0005)
    put("ETA CUSTOMER WAREHOUSE DATE", "2025-03", 0.0003)  # a partial date
    if "CUSTOMER NAME" in position:  # a line naming another customer: it stays in this workbook
        other = "GREYSON" if "TITLE" in str(row[position["CUSTOMER NAME"]]) else "TITLE 9"
        put("CUSTOMER NAME", other, 0.0003)
    if "TOTAL QTY" in position and mess.chance(0.004):
        row[position["TOTAL QTY"]] = (row[position["TOTAL QTY"]] or 0) + 6


def _names_in_files(canonical: str) -> list[str]:
    for entry in read_packaged_config(CustomersFile, "customers.json").customers:
        if entry.canonical == canonical:
            return list(entry.names_in_order_list)
    return []
