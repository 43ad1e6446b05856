"""Cell issues: cells of published lines whose value could not be loaded as written.

A cell that cannot be typed (text in a number or date column, a number too large, text longer than
its column, an Excel error value, a partial date, a date that contradicts the workbook's day/month
order) is published as NULL, and never holds back its line. Each is listed with its original text,
reason, file, sheet, row and column in ORDER_LIST_CELL_ISSUES, and the line carries its own in
`_CELL_ISSUES` (JSON: ORDER_LIST column -> original text and reason code). Placeholders (`TBC`) are
listed too (reason PLACEHOLDER), so every non-blank cell of the workbook is either typed or listed;
a CUSTOMER NAME naming another customer is listed as OTHER_CUSTOMER (the line stays with its workbook).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from order_platform.schema import Column, Kind
from order_platform.staging.casting import PLACEHOLDER, Cast, cast_decimal, cast_integer, cast_text
from order_platform.staging.dates import cast_date

OTHER_CUSTOMER = "OTHER_CUSTOMER"
CELL_ISSUE_COLUMNS = (
    "record_uuid",
    "source_file",
    "sheet",
    "row_number",
    "column_name",
    "source_header",
    "value",
    "reason_code",
    "reason",
)
# Reasons that are not problems: listed (the cell's text was not loaded) but do not fail the check.
NOT_A_PROBLEM = frozenset({PLACEHOLDER})


def cast_cells(text: pd.Series, column: Column, day_first: bool | None = None) -> Cast:
    """A raw column typed as its ORDER_LIST column, with its cell issues."""
    if column.kind in (Kind.INT, Kind.SMALLINT):
        return cast_integer(text, column)
    if column.kind is Kind.DECIMAL:
        return cast_decimal(text, column)
    if column.kind is Kind.DATE:
        return cast_date(text, column, day_first)
    return cast_text(text, column)


@dataclass
class CellIssues:
    """The cells of one column with one reason, by position in the raw rows."""

    column: str  # the ORDER_LIST column
    header: str  # the workbook's header
    code: str
    reason: str
    positions: np.ndarray  # int positions in the raw frame


def from_cast(cast: Cast, column: str, header: str) -> list[CellIssues]:
    found = [
        CellIssues(column, header, code, f"{header!r} is {cast.reasons[code]}", np.flatnonzero(mask))
        for code, mask in cast.issues.items()
    ]
    if cast.placeholder.any():
        found.append(
            CellIssues(
                column,
                header,
                PLACEHOLDER,
                f"{header!r} holds a placeholder (TBC, TBA, 00/00/00...): loaded as blank",
                np.flatnonzero(cast.placeholder),
            )
        )
    return found


def issue_rows(found: list[CellIssues], n: int) -> np.ndarray:
    """Rows (positions) with at least one issue."""
    mask = np.zeros(n, dtype=bool)
    for issue in found:
        mask[issue.positions] = True
    return mask


def issues_frame(
    found: list[CellIssues], raw: pd.DataFrame, keep: np.ndarray, line_ids: np.ndarray
) -> tuple[pd.DataFrame, list[str | None]]:
    """(one row per issue on a kept line, in sheet order; the `_CELL_ISSUES` JSON of every kept line)."""
    staged_at = np.cumsum(keep) - 1  # raw position -> staged position
    parts = []
    for issue in found:
        where = issue.positions[keep[issue.positions]]
        if not len(where):
            continue
        parts.append(
            pd.DataFrame(
                {
                    "position": where,
                    "record_uuid": line_ids[staged_at[where]],
                    "source_file": raw["_SOURCE_FILE"].to_numpy()[where],
                    "sheet": raw["_SOURCE_SHEET"].to_numpy()[where],
                    "row_number": raw["_SOURCE_ROW"].to_numpy()[where].astype("int64"),
                    "column_name": issue.column,
                    "source_header": issue.header,
                    "value": raw[issue.header].to_numpy()[where] if issue.header in raw else None,
                    "reason_code": issue.code,
                    "reason": issue.reason,
                }
            )
        )
    per_line: list[str | None] = [None] * int(keep.sum())
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in CELL_ISSUE_COLUMNS}), per_line
    frame = pd.concat(parts, ignore_index=True).sort_values("position", kind="stable")
    by_line: dict[int, dict] = defaultdict(dict)
    columns = [frame[c].tolist() for c in ("position", "column_name", "value", "reason_code")]
    for position, column, value, code in zip(*columns, strict=True):
        by_line[int(staged_at[position])][column] = {"value": value, "reason_code": code}
    for line, issues in by_line.items():
        per_line[line] = json.dumps(issues, ensure_ascii=False)
    return frame[list(CELL_ISSUE_COLUMNS)].reset_index(drop=True), per_line


def issue_counts(frame: pd.DataFrame) -> dict:
    """Counts for the staging metadata and the `no_cell_issues` check: problems by reason and by column
    (reason counts per column), lines with a problem, placeholders, and a sample."""
    if not len(frame):
        return {"by_reason": {}, "by_column": {}, "lines": 0, "placeholders": 0, "sample": []}
    problems = frame[~frame["reason_code"].isin(NOT_A_PROBLEM)]
    by_column: dict[str, dict[str, int]] = defaultdict(dict)
    for (column, code), count in Counter(zip(problems["column_name"], problems["reason_code"], strict=True)).items():
        by_column[column][code] = count
    shown = ["source_file", "sheet", "row_number", "column_name", "value", "reason_code", "reason"]
    sample = problems.head(20)[[c for c in shown if c in problems.columns]]
    return {
        "by_reason": dict(Counter(problems["reason_code"])),
        "by_column": dict(by_column),
        "lines": int(problems["record_uuid"].nunique()),
        "placeholders": int(len(frame) - len(problems)),
        "sample": [
            {k: (None if v is None or v != v else (int(v) if k == "row_number" else str(v))) for k, v in r.items()}
            for r in sample.to_dict("records")
        ],
    }
