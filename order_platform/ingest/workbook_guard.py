"""Refuse a workbook whose size is out of proportion before any reader allocates for it.

An .xlsx is a zip of XML parts. Two cheap looks, at the zip's directory and at the first bytes of
a sheet, catch what would make a reader allocate gigabytes:
- a zip bomb: parts that decompress far beyond their stored size (a ratio no spreadsheet reaches:
  real workbooks compress 5-15x), or beyond an absolute size;
- a far cell: one value at `XFD1048576` makes the sheet's grid 1,048,576 x 16,384 cells, and calamine
  allocates that grid densely (32 bytes a cell: 512 GB). The sheet's `<dimension ref="A1:XFD1048576"/>`
  declares it in its first bytes.
What the files do not declare (a sheet without a dimension, a lying one) is left to the worker's
memory limit, which ends the worker and fails the customer with its own message.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.etree import ElementTree

if TYPE_CHECKING:
    from order_platform.settings import PlatformSettings

HEAD_BYTES = 65_536  # where a sheet's <dimension> is: right after <sheetPr>, within the first kilobytes
RATIO_FLOOR_BYTES = 10_000_000  # smaller parts cannot hurt, whatever their ratio
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?"')
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


@dataclass(frozen=True)
class WorkbookLimits:
    """How big a workbook may be before it is read (ORDER_PLATFORM_MAX_* settings)."""

    max_sheet_cells: int = 20_000_000
    max_uncompressed_mb: int = 1024
    max_compression_ratio: int = 100

    @classmethod
    def from_settings(cls, settings: PlatformSettings) -> WorkbookLimits:
        return cls(settings.max_sheet_cells, settings.max_uncompressed_mb, settings.max_compression_ratio)


def stored_size_refusal(path: str, size: int, limits: WorkbookLimits) -> str | None:
    """Why a file is not even downloaded: it is larger than any workbook may decompress to."""
    limit = limits.max_uncompressed_mb
    if size <= limit * 1_000_000:
        return None
    return (
        f"file {path!r} is {size / 1e6:,.0f} MB, more than the {limit:,} MB a workbook may decompress to "
        "(ORDER_PLATFORM_MAX_UNCOMPRESSED_MB); not downloaded"
    )


class WorkbookTooLarge(Exception):
    """The message says which file part or sheet, what it declares, and which limit it passes."""

    def __init__(self, message: str, sheet: str | None = None) -> None:
        super().__init__(message)
        self.sheet = sheet


def column_number(letters: str) -> int:
    """A -> 1, Z -> 26, AA -> 27, XFD -> 16384."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


class WorkbookGuard:
    """Checks one workbook's bytes: the zip at once, each sheet before it is read."""

    def __init__(self, data: bytes, limits: WorkbookLimits) -> None:
        self.limits = limits
        self.zip: zipfile.ZipFile | None
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError):
            self.zip = None  # not a zip: the reader says so in its own words
            return
        total = sum(i.file_size for i in infos)
        if total > limits.max_uncompressed_mb * 1_000_000:
            raise WorkbookTooLarge(
                f"the workbook decompresses to {total / 1e6:,.0f} MB ({len(data) / 1e6:,.1f} MB stored), more than "
                f"the {limits.max_uncompressed_mb:,} MB allowed (ORDER_PLATFORM_MAX_UNCOMPRESSED_MB); not read"
            )
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_compression_ratio:
                raise WorkbookTooLarge(
                    f"part {info.filename!r} decompresses {ratio:,.0f} times ({info.compress_size:,} bytes to "
                    f"{info.file_size:,}); a spreadsheet compresses at most about 20 times, this is a zip bomb "
                    f"(limit {limits.max_compression_ratio}, ORDER_PLATFORM_MAX_COMPRESSION_RATIO); not read"
                )
        self._sheet_parts: dict[str, str] | None = None

    def _parts(self) -> dict[str, str]:
        """Sheet name -> its XML part, from xl/workbook.xml and its relationships."""
        if self._sheet_parts is None:
            self._sheet_parts = {}
            if self.zip is None:
                return self._sheet_parts
            try:
                book = ElementTree.fromstring(self.zip.read("xl/workbook.xml"))
                rels = ElementTree.fromstring(self.zip.read("xl/_rels/workbook.xml.rels"))
            except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError):
                return self._sheet_parts
            targets = {r.get("Id"): r.get("Target", "") for r in rels}
            for sheet in book.iter():
                if sheet.tag.endswith("}sheet") and sheet.get(_NS_REL) in targets:
                    target = targets[sheet.get(_NS_REL)]
                    part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
                    self._sheet_parts[sheet.get("name", "")] = part
        return self._sheet_parts

    def check_sheet(self, sheet: str) -> None:
        """Raise WorkbookTooLarge when the sheet declares more cells than a sheet may have."""
        if self.zip is None:
            return
        part = self._parts().get(sheet)
        if part is None:
            return
        try:
            with self.zip.open(part) as stream:
                head = stream.read(HEAD_BYTES)
        except (KeyError, zipfile.BadZipFile, OSError, EOFError, ValueError):
            return  # the reader reports a broken part in its own words
        match = _DIMENSION.search(head)
        if not match:
            return
        first_column, first_row, end_column, end_row = (g.decode("ascii") if g else "" for g in match.groups())
        last_column, last_row = (end_column, end_row) if end_column else (first_column, first_row)
        rows, columns = int(last_row), column_number(last_column)
        cells = rows * columns
        if cells > self.limits.max_sheet_cells:
            raise WorkbookTooLarge(
                f"the sheet's used range reaches {last_column}{last_row} ({rows:,} rows x {columns:,} columns = "
                f"{cells:,} cells), more than the {self.limits.max_sheet_cells:,} a sheet may have "
                "(ORDER_PLATFORM_MAX_SHEET_CELLS); a value far below or right of the data (Ctrl+End in Excel "
                "finds it) makes a reader allocate the whole grid: delete the rows and columns after the data",
                sheet=sheet,
            )
