"""Where customer workbooks come from: the interface and its embedded default (a local folder).

The SharePoint (Microsoft Graph) implementation lives in `sharepoint.py` and answers the same
two questions: which workbooks are there (with a cheap change token), and what are their bytes.
"""

from __future__ import annotations

import logging
import os
import re
import stat as stat_module
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

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


class SourceFileError(Exception):
    """A listed workbook cannot be read as a file of the source (gone, a link out, not a regular file)."""


class LocalFolderSource:
    """A folder (and its subfolders) of `<CUSTOMER> ORDER LIST (M3).xlsx` workbooks.

    A shared folder holds more than workbooks. Listing never fails on one entry: lock files (`~$...`),
    links that dangle or point outside the folder, FIFOs, sockets, devices and folders named like a
    workbook, and files that vanish while the folder is walked are skipped, each with a note in
    `notes` (and a warning in the log). Links inside the folder are followed to files only; linked
    folders are not walked. Reading checks again (the file may have changed since the listing) and
    never blocks: a FIFO is refused, not opened for a read that would wait forever.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.notes: list[str] = []

    def describe(self) -> str:
        return f"folder {self.root}"

    def _skip(self, relative: str, why: str) -> None:
        note = f"skipped {relative!r}: {why}"
        self.notes.append(note)
        log.warning("source listing: %s", note)

    def list_workbooks(self) -> list[WorkbookRef]:
        self.notes = []
        if not self.root.is_dir():
            return []
        root = self.root.resolve()
        refs: list[WorkbookRef] = []

        def walk_error(error: OSError) -> None:
            self._skip(str(error.filename), f"cannot list the folder ({error.strerror or error})")

        for dirpath, _dirs, files in os.walk(self.root, onerror=walk_error):
            for name in files:
                relative = (Path(dirpath) / name).relative_to(self.root).as_posix()
                if name.startswith("~$"):
                    if _WORKBOOK_NAME.match(name[2:].strip()):
                        self._skip(relative, "an Excel lock file (someone has the workbook open)")
                    continue
                customer = customer_in_workbook_name(name)
                if customer is None:
                    continue
                try:
                    stat = self._regular_file_stat(root, Path(dirpath) / name)
                except SourceFileError as exc:
                    self._skip(relative, str(exc))
                    continue
                refs.append(
                    WorkbookRef(
                        customer_in_file_name=customer,
                        path=relative,
                        size=stat.st_size,
                        modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
                        version=f"{stat.st_size}-{stat.st_mtime_ns}",
                    )
                )
        return sorted(refs, key=lambda ref: ref.path)

    @staticmethod
    def _regular_file_stat(root: Path, full: Path) -> os.stat_result:
        """The stat of the file `full` names, which must be a regular file inside `root`."""
        is_link = False
        try:
            is_link = stat_module.S_ISLNK(os.lstat(full).st_mode)
            info = os.stat(full)
            if is_link and not Path(os.path.realpath(full)).is_relative_to(root):
                raise SourceFileError("a link to a file outside the source folder; not followed")
        except FileNotFoundError as exc:
            gone = "a link to nothing (dangling)" if is_link else "it vanished while the folder was read"
            raise SourceFileError(gone) from exc
        except OSError as exc:
            raise SourceFileError(f"cannot read it ({exc.strerror or exc})") from exc
        if not stat_module.S_ISREG(info.st_mode):
            raise SourceFileError(f"not a regular file ({_kind(info.st_mode)})")
        return info

    def read_bytes(self, ref: WorkbookRef) -> bytes:
        full = self.root / ref.path
        where = f"file {ref.path!r}"
        try:
            self._regular_file_stat(self.root.resolve(), full)
            # O_NONBLOCK: were it swapped for a FIFO since, the open returns instead of waiting forever.
            fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except SourceFileError as exc:
            raise SourceFileError(f"{where}: {exc}") from exc
        except OSError as exc:
            raise SourceFileError(f"{where}: cannot open it ({exc.strerror or exc})") from exc
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat_module.S_ISREG(info.st_mode):
                raise SourceFileError(f"{where}: not a regular file ({_kind(info.st_mode)})")
            return f.read()


def _kind(mode: int) -> str:
    for test, name in (
        (stat_module.S_ISFIFO, "a FIFO"),
        (stat_module.S_ISSOCK, "a socket"),
        (stat_module.S_ISDIR, "a folder"),
        (stat_module.S_ISCHR, "a character device"),
        (stat_module.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a file"
