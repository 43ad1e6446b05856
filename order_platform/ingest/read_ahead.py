"""Order sheets read ahead of their load, found again only by the very bytes they were read from.

The fork server reads the run's largest workbooks into cell text while the CLI's refresh is still
starting its Dagster run (workers/read_ahead.py) and keeps them here; the workers it forks inherit
this dict (copy-on-write) and `take` a sheet instead of reading the workbook again. A sheet is used
only when everything `read_order_sheet` depends on is the same: the bytes (content hash), the file
name (it is in every error and note), the workbook limits and the schema (the same cached object).
Anything else, a workbook changed since it was read ahead included, is read as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from order_platform.ingest.blob import content_hash
from order_platform.ingest.workbook import SheetData
from order_platform.ingest.workbook_guard import WorkbookLimits
from order_platform.schema import OrderListSchema

_Key = tuple[str, str, WorkbookLimits]  # content hash, file name, limits


@dataclass(frozen=True)
class _Kept:
    schema: OrderListSchema  # compared by identity: the process's cached schema, inherited by the workers
    sheet: SheetData


_sheets: dict[_Key, _Kept] = {}


def keep(digest: str, file_name: str, schema: OrderListSchema, limits: WorkbookLimits, sheet: SheetData) -> None:
    """Keep a sheet read ahead from bytes of content hash `digest` (the fork server)."""
    _sheets[(digest, file_name, limits)] = _Kept(schema, sheet)


def take(
    data: bytes, digest: str | None, file_name: str, schema: OrderListSchema, limits: WorkbookLimits
) -> SheetData | None:
    """The sheet read ahead from these bytes under this name, schema and limits, else None; taken once
    (a worker loads a customer once, and what it holds is its own afterwards). `digest`: the bytes'
    content hash when the caller has it (hashed here otherwise, and only when anything was read ahead)."""
    if not _sheets:
        return None
    kept = _sheets.pop((digest or content_hash(data), file_name, limits), None)
    if kept is None or kept.schema is not schema:
        return None
    return kept.sheet


def clear() -> None:
    """Forget every sheet read ahead (a new read-ahead replaces the old one; the refresh ends)."""
    _sheets.clear()


def held() -> int:
    """How many sheets are held (tests, logs)."""
    return len(_sheets)
