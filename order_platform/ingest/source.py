"""Where customer workbooks come from: the interface and its embedded default (a local folder).

The SharePoint (Microsoft Graph) implementation lives in `sharepoint.py` and answers the same
two questions: which workbooks are there (with a cheap change token), and what are their bytes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

WORKBOOK_SUFFIX = " ORDER LIST (M3).xlsx"
_WORKBOOK_NAME = re.compile(r"^(?P<customer>.+?)\s+ORDER LIST \(M3\)\.xlsx$", re.IGNORECASE)


@dataclass(frozen=True)
class WorkbookRef:
    """One customer workbook as the source lists it.

    `version` changes whenever the content may have changed (size+mtime locally, eTag or
    quickXorHash on SharePoint); the sensor compares it, so listing never downloads content.
    """

    customer_in_file_name: str
    path: str
    size: int
    modified: datetime
    version: str
    etag: str | None = None  # SharePoint's eTag; None for a local folder

    @property
    def file_name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class WorkbookSource(Protocol):
    def list_workbooks(self) -> list[WorkbookRef]: ...

    def read_bytes(self, ref: WorkbookRef) -> bytes: ...

    def describe(self) -> str: ...


def customer_in_workbook_name(file_name: str) -> str | None:
    """`GREYSON ORDER LIST (M3).xlsx` -> `GREYSON`; None for files that are not order lists."""
    if file_name.startswith("~$"):  # Excel lock files
        return None
    match = _WORKBOOK_NAME.match(file_name.strip())
    return " ".join(match.group("customer").split()) if match else None


class LocalFolderSource:
    """A folder (and its subfolders) of `<CUSTOMER> ORDER LIST (M3).xlsx` workbooks."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return f"folder {self.root}"

    def list_workbooks(self) -> list[WorkbookRef]:
        if not self.root.exists():
            return []
        refs: list[WorkbookRef] = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                customer = customer_in_workbook_name(name)
                if customer is None:
                    continue
                full = Path(dirpath) / name
                stat = full.stat()
                refs.append(
                    WorkbookRef(
                        customer_in_file_name=customer,
                        path=full.relative_to(self.root).as_posix(),
                        size=stat.st_size,
                        modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
                        version=f"{stat.st_size}-{stat.st_mtime_ns}",
                    )
                )
        return sorted(refs, key=lambda ref: ref.path)

    def read_bytes(self, ref: WorkbookRef) -> bytes:
        return (self.root / ref.path).read_bytes()
