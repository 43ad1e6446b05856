"""Raw cell text -> typed, cleaned staging rows, plus a quarantine of rows that are not order lines.

Every raw row ends in exactly one place: staged, or quarantined with a reason naming the file,
sheet, row and column. Only rows that are not order lines are quarantined (no order number,
headings and notes, TOTAL rows, empty lines, an unusable key); a cell that cannot be typed is a cell
issue (`cell_issues.py`) and its line is staged. Text dates are read in one day/month order per
workbook (`date_order.py`). Headers the schema does not know are kept (as JSON per row) and reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from order_platform.load.stages import timed
from order_platform.schema import (
    AAG_ORDER_NUMBER,
    CUSTOMER_NAME,
    KEY_COLUMN,
    LINE_DETAIL_COLUMNS,
    LINE_IDENTIFYING_COLUMNS,
    ORDER_LINE_KEY,
    ORDER_TYPE,
    SOURCE_CUSTOMER_NAME,
    SOURCE_TABLE_COLUMN,
    TOTAL_QTY,
    Kind,
    OrderListSchema,
)
from order_platform.staging.casting import PLACEHOLDER
from order_platform.staging.cell_issues import (
    OTHER_CUSTOMER,
    CellIssues,
    cast_cells,
    from_cast,
    issue_rows,
    issues_frame,
)
from order_platform.staging.customers import CustomerDirectory
from order_platform.staging.date_order import DateOrder, DateOrderContext, decide_date_order
from order_platform.staging.dates import DayMonthEvidence, day_month_evidence
from order_platform.staging.identity import line_ids

RAW_LINEAGE = ("_SOURCE_FILE", "_SOURCE_SHEET", "_SOURCE_ROW", "_LOADED_AT")
ORDER_TYPE_SYNONYMS = {"ACTIVE": "RECEIVED"}
TOTAL_MARKERS = frozenset({"TOTAL", "TOTALS", "GRAND TOTAL", "SUB TOTAL", "SUBTOTAL"})
QUARANTINE_COLUMNS = ("source_file", "sheet", "row_number", "column_name", "value", "reason_code", "reason")


@dataclass
class StagingResult:
    staged: pd.DataFrame  # canonical columns present in the file + key + lineage
    quarantine: pd.DataFrame  # one row per reason a row is not an order line (a row may have several)
    unknown_headers: list[str]
    raw_rows: int
    placeholder_counts: dict[str, int] = field(default_factory=dict)
    total_qty_mismatches: list[int] = field(default_factory=list)  # Excel rows
    unknown_customer_names: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cell_issues: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per cell issue of a staged line
    date_order: DateOrder | None = None

    @property
    def quarantined_rows(self) -> int:
        return int(self.quarantine["row_number"].nunique()) if len(self.quarantine) else 0


def header_mapping(
    headers: list[str], schema: OrderListSchema
) -> tuple[dict[str, str], list[str], list[str]]:
    """(raw header -> canonical column, unknown headers, notes). First header wins a clash."""
    mapping: dict[str, str] = {}
    taken: dict[str, str] = {}
    unknown: list[str] = []
    notes: list[str] = []
    for header in headers:
        canonical = schema.canonical_for(header)
        if canonical is None:
            unknown.append(header)
        elif canonical in taken:
            unknown.append(header)
            notes.append(
                f"header {header!r} also maps to {canonical!r} (from {taken[canonical]!r}); kept as extra"
            )
        else:
            mapping[header] = canonical
            taken[canonical] = header
    return mapping, unknown, notes


def _problems(
    raw: pd.DataFrame, positions: np.ndarray, column: str, values: pd.Series, code: str, reason: str
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_file": raw["_SOURCE_FILE"].to_numpy()[positions],
            "sheet": raw["_SOURCE_SHEET"].to_numpy()[positions],
            "row_number": raw["_SOURCE_ROW"].to_numpy()[positions].astype("int64"),
            "column_name": column,
            "value": values.to_numpy()[positions],
            "reason_code": code,
            "reason": reason,
        }
    )


def _non_order_rows(
    raw: pd.DataFrame,
    mapping: dict[str, str],
    typed: dict[str, pd.Series],
    schema: OrderListSchema,
    untyped: np.ndarray,
) -> list[tuple]:
    """(mask, code, reason) for rows that are not order lines: TOTAL rows, empty lines, no order number,
    headings and notes (text in the order number's column and nothing else an order line has).
    `untyped`: rows with a cell that could not be typed, which hold something, so are not headings."""
    aag = typed.get(AAG_ORDER_NUMBER)
    if aag is None:
        return []
    blank_aag = aag.isna().to_numpy()
    first_cells = [raw[h] for h in list(mapping)[:6]]
    total_row = np.zeros(len(raw), dtype=bool)
    for col in first_cells:
        values = col.tolist()
        try:  # one C-speed look for the word before a per-cell pass
            has_total = "TOTAL" in "\x00".join(filter(None, values)).upper()
        except TypeError:
            has_total = True
        if has_total:
            total_row |= np.fromiter(
                (v.__class__ is str and len(v) < 15 and v.strip().upper() in TOTAL_MARKERS for v in values),
                dtype=bool,
                count=len(values),
            )
    identifying_blank = np.ones(len(raw), dtype=bool)
    for name in LINE_IDENTIFYING_COLUMNS:
        if name in typed:
            identifying_blank &= typed[name].isna().to_numpy()
    qty = typed.get(TOTAL_QTY)
    no_qty = np.ones(len(raw), dtype=bool) if qty is None else (qty.fillna(0) == 0).to_numpy()
    empty_line = identifying_blank & no_qty & ~total_row
    no_line_detail = no_qty & ~untyped  # no style, PO, alternative PO, related item or size quantity
    for name in LINE_DETAIL_COLUMNS:
        if name in typed:
            no_line_detail &= typed[name].isna().to_numpy()
    for column in schema.size_columns:
        if column.name in typed:
            no_line_detail &= (typed[column.name].fillna(0) == 0).to_numpy()
    heading = ~blank_aag & no_line_detail & ~total_row
    return [
        (total_row, "TOTAL_ROW", "a TOTAL row, not an order line"),
        (empty_line, "EMPTY_LINE", "an empty line: no order number, style or PO, and quantity 0"),
        (blank_aag & ~total_row & ~empty_line, "NOT_AN_ORDER", "blank AAG ORDER NUMBER: not an order line"),
        (
            heading,
            "NOT_AN_ORDER",
            "only the AAG ORDER NUMBER column is filled (no style, PO or quantity): a heading or note",
        ),
    ]


def workbook_date_order(
    raw: pd.DataFrame, mapping: dict[str, str], schema: OrderListSchema, context: DateOrderContext
) -> DateOrder:
    """The day/month order of all the workbook's text date columns together."""
    evidence = DayMonthEvidence()
    for header, canonical in mapping.items():
        if schema.by_name[canonical].kind is Kind.DATE:
            evidence += day_month_evidence(raw[header])
    return decide_date_order(evidence, context)


def stage(
    raw: pd.DataFrame,
    headers: list[str],
    *,
    customer: str,
    source_table: str,
    load_id: str,
    schema: OrderListSchema,
    directory: CustomerDirectory,
    dates: DateOrderContext | None = None,
) -> StagingResult:
    """Type and clean one customer's raw rows (all text), in source-row order.

    `dates`: what is known about the customer's day/month order besides the workbook (customers.json,
    the remembered order, the region folder); see date_order.py."""
    raw = raw.reset_index(drop=True)
    n = len(raw)
    mapping, unknown, notes = header_mapping(headers, schema)
    columns = schema.by_name
    date_order = workbook_date_order(raw, mapping, schema, dates or DateOrderContext())
    notes = [*notes, *date_order.notes()]
    typed: dict[str, pd.Series] = {}
    found: list[CellIssues] = []
    placeholder_counts: dict[str, int] = {}
    for header, canonical in mapping.items():
        cast = cast_cells(raw[header], columns[canonical], date_order.day_first)
        typed[canonical] = cast.values
        if cast.placeholder.any():
            placeholder_counts[canonical] = int(cast.placeholder.sum())
        found.extend(from_cast(cast, canonical, header))

    problems: list[pd.DataFrame] = []
    aag_header = next((h for h, c in mapping.items() if c == AAG_ORDER_NUMBER), AAG_ORDER_NUMBER)
    unusable_keys = [i for i in found if i.column in ORDER_LINE_KEY and i.code != PLACEHOLDER]
    for issue in unusable_keys:  # a line whose key cannot be read cannot be identified: not loaded
        reason = f"the line's key cannot be read: {issue.reason}"
        problems.append(_problems(raw, issue.positions, issue.header, raw[issue.header], "UNUSABLE_KEY", reason))
    unusable = issue_rows(unusable_keys, n)
    untyped = issue_rows([i for i in found if i.code != PLACEHOLDER], n)
    for mask, code, reason in _non_order_rows(raw, mapping, typed, schema, untyped):
        mask = mask & ~unusable  # one reason per row: its key
        if mask.any():
            problems.append(_problems(raw, np.flatnonzero(mask), aag_header, raw[aag_header], code, reason))
    quarantined = np.zeros(n, dtype=bool)
    for frame in problems:
        quarantined |= np.isin(raw["_SOURCE_ROW"].to_numpy().astype("int64"), frame["row_number"].to_numpy())
    quarantine = (
        pd.concat(problems, ignore_index=True)
        if problems
        else pd.DataFrame({c: pd.Series(dtype=object) for c in QUARANTINE_COLUMNS})
    )

    keep = ~quarantined
    # copy=False: the cast columns are new arrays already; consolidating them into blocks costs more
    # than it saves. The dtype is given so text stays `object` (pandas would infer `str` from a
    # masked array), the same whether or not any row was quarantined.
    if keep.all():
        staged = pd.DataFrame(typed, copy=False).reset_index(drop=True)
    else:  # index the arrays, not the Series: pandas' masked Series indexing is 3x slower
        staged = pd.DataFrame(
            {name: pd.Series(series.array[keep], dtype=series.dtype, copy=False) for name, series in typed.items()},
            copy=False,
        )
    customer_header = next((h for h, c in mapping.items() if c == CUSTOMER_NAME), CUSTOMER_NAME)
    unknown_names, others = _canonical_customers(staged, customer, directory)
    if len(others):
        found.append(_other_customer_issues(staged, others, keep, customer, customer_header, directory))
    if ORDER_TYPE in staged:
        order_type = staged[ORDER_TYPE].str.upper()
        staged[ORDER_TYPE] = order_type.replace(ORDER_TYPE_SYNONYMS)
    mismatches = _total_qty_mismatches(staged, raw["_SOURCE_ROW"][keep].to_numpy(), schema)
    ids = line_ids(customer, staged).to_numpy()
    with timed("cell_issues"):
        cell_issues, per_line = issues_frame(found, raw, keep, ids)
    staged[KEY_COLUMN] = ids
    staged[SOURCE_TABLE_COLUMN] = source_table
    staged["_SOURCE_FILE"] = raw["_SOURCE_FILE"][keep].to_numpy()
    staged["_SOURCE_SHEET"] = raw["_SOURCE_SHEET"][keep].to_numpy()
    staged["_SOURCE_ROW"] = raw["_SOURCE_ROW"][keep].to_numpy().astype("int64")
    staged["_LOAD_ID"] = load_id
    staged["_EXTRA_COLUMNS"] = _extras_json(raw.loc[keep, unknown]) if unknown else None
    staged["_CELL_ISSUES"] = per_line
    return StagingResult(
        staged=staged,
        quarantine=quarantine,
        unknown_headers=unknown,
        raw_rows=n,
        placeholder_counts=placeholder_counts,
        total_qty_mismatches=mismatches,
        unknown_customer_names=unknown_names,
        notes=notes,
        cell_issues=cell_issues,
        date_order=date_order,
    )


def _other_customer_issues(
    staged: pd.DataFrame,
    others: np.ndarray,
    keep: np.ndarray,
    customer: str,
    header: str,
    directory: CustomerDirectory,
) -> CellIssues:
    """Lines whose CUSTOMER NAME names another known customer: they stay in this workbook's partition."""
    written = pd.unique(staged[SOURCE_CUSTOMER_NAME].to_numpy()[others])
    names = sorted({directory.canonical(n) or n for n in written})
    return CellIssues(
        CUSTOMER_NAME,
        header,
        OTHER_CUSTOMER,
        f"{header!r} names another customer ({', '.join(names)}); the line stays with this workbook's "
        f"customer {customer}",
        np.flatnonzero(keep)[others],
    )


def _canonical_customers(
    staged: pd.DataFrame, customer: str, directory: CustomerDirectory
) -> tuple[list[str], np.ndarray]:
    """CUSTOMER NAME is the workbook's customer on every line (the partition the line belongs to), the
    name as written kept in SOURCE_CUSTOMER_NAME. Returns (names the directory does not know, positions
    of lines naming another known customer)."""
    source = (
        staged[CUSTOMER_NAME]
        if CUSTOMER_NAME in staged
        else pd.Series(None, index=staged.index, dtype=object)
    )
    uniques = source.dropna().unique().tolist()
    canonical = {name: directory.canonical(name) for name in uniques}
    staged[SOURCE_CUSTOMER_NAME] = source
    staged[CUSTOMER_NAME] = pd.Series(customer, index=staged.index, dtype=object)
    own = directory.canonical(customer) or customer
    other_names = [name for name, c in canonical.items() if c is not None and c != own]
    others = np.flatnonzero(source.isin(other_names).to_numpy()) if other_names else np.array([], dtype="int64")
    return sorted(n for n, c in canonical.items() if c is None), others


def _total_qty_mismatches(staged: pd.DataFrame, rows: np.ndarray, schema: OrderListSchema) -> list[int]:
    sizes = [c.name for c in schema.size_columns if c.name in staged]
    if TOTAL_QTY not in staged or not sizes:
        return []
    size_sum = staged[sizes].sum(axis=1, min_count=1).fillna(0).to_numpy()
    total = staged[TOTAL_QTY].fillna(0).to_numpy(dtype="float64")
    return [int(r) for r in rows[np.abs(size_sum - total) > 0]]


def _extras_json(extras: pd.DataFrame) -> list[str | None]:
    names = list(extras.columns)
    out: list[str | None] = []
    for values in extras.itertuples(index=False, name=None):
        kept = {n: v for n, v in zip(names, values, strict=True) if v is not None and v == v}
        out.append(json.dumps(kept, ensure_ascii=False) if kept else None)
    return out
