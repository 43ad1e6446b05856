"""What a shared folder holds besides workbooks, and workbooks out of proportion: skipped or refused
with a note naming the file, never an aborted listing, a hung read or a reader allocating gigabytes."""

from __future__ import annotations

import io
import os
import threading
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from order_platform.ingest.source import LocalFolderSource, SourceFileError
from order_platform.ingest.workbook import WorkbookError, read_order_sheet
from order_platform.ingest.workbook_guard import WorkbookLimits
from order_platform.schema import order_list_schema
from order_platform_tests.workbooks import line, workbook_name, write_workbook

SCHEMA = order_list_schema()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "source"
    (root / "USA CUSTOMERS").mkdir(parents=True)
    write_workbook(root / "USA CUSTOMERS" / workbook_name("GREYSON"), [line("GRE-1", "A")])
    return root


def listed(source: LocalFolderSource) -> list[str]:
    return [ref.path for ref in source.list_workbooks()]


def note_for(source: LocalFolderSource, name: str) -> str:
    (note,) = [n for n in source.notes if name in n]
    return note


def test_dangling_links_fifos_lock_files_and_folders_are_skipped_with_a_note(folder, tmp_path):
    (folder / workbook_name("GONE")).symlink_to(tmp_path / "nowhere.xlsx")
    os.mkfifo(folder / workbook_name("PIPE"))
    (folder / ("~$" + workbook_name("GREYSON"))).write_bytes(b"lock")
    (folder / workbook_name("A FOLDER")).mkdir()
    source = LocalFolderSource(folder)
    assert listed(source) == ["USA CUSTOMERS/GREYSON ORDER LIST (M3).xlsx"]
    assert "dangling" in note_for(source, "GONE")
    assert "FIFO" in note_for(source, "PIPE")
    assert "lock file" in note_for(source, "~$GREYSON")
    assert len(source.notes) == 3  # a folder named like a workbook is a folder: os.walk lists it as one


def test_links_are_followed_inside_the_folder_only(folder, tmp_path):
    outside = write_workbook(tmp_path / "elsewhere" / workbook_name("OUTSIDER"), [line("OUT-1", "A")])
    (folder / workbook_name("OUTSIDER")).symlink_to(outside)
    (folder / workbook_name("PASSWD")).symlink_to("/etc/passwd")
    (folder / workbook_name("TITLE 9")).symlink_to(folder / "USA CUSTOMERS" / workbook_name("GREYSON"))
    (folder / "linked folder").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    source = LocalFolderSource(folder)
    assert listed(source) == ["TITLE 9 ORDER LIST (M3).xlsx", "USA CUSTOMERS/GREYSON ORDER LIST (M3).xlsx"]
    assert "outside the source folder" in note_for(source, "OUTSIDER")
    assert "outside the source folder" in note_for(source, "PASSWD")


def test_reading_refuses_what_changed_since_the_listing_without_blocking(folder, tmp_path):
    source = LocalFolderSource(folder)
    (ref,) = source.list_workbooks()
    path = folder / ref.path
    path.unlink()
    os.mkfifo(path)  # swapped for a FIFO after the listing: a plain open() would wait for a writer forever
    result: list[BaseException] = []
    reader = threading.Thread(target=lambda: _capture(result, source.read_bytes, ref), daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert not reader.is_alive(), "the read hung on a FIFO"
    assert isinstance(result[0], SourceFileError) and "FIFO" in str(result[0]) and ref.path in str(result[0])
    path.unlink()
    path.symlink_to("/etc/passwd")
    with pytest.raises(SourceFileError, match="outside the source folder"):
        source.read_bytes(ref)
    path.unlink()
    with pytest.raises(SourceFileError, match="vanished"):
        source.read_bytes(ref)


def _capture(into: list, function, *args) -> None:
    try:
        function(*args)
    except BaseException as exc:
        into.append(exc)


def test_the_platform_loads_the_good_workbook_among_hostile_entries(platform, tmp_path):
    from order_platform.workers.runner import run_customers

    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A")])
    (platform.source / workbook_name("GONE")).symlink_to(tmp_path / "nowhere.xlsx")
    os.mkfifo(platform.source / workbook_name("PIPE"))
    (platform.source / workbook_name("PASSWD")).symlink_to("/etc/passwd")
    pipeline = platform.pipeline
    listing = pipeline.workbooks()
    assert sorted(listing) == ["GREYSON"] and len(pipeline.listing_notes) == 3
    started = time.monotonic()
    (report,) = run_customers(platform.spec, sorted(listing), listing=listing)
    assert report.ok and report.published_rows == 1 and time.monotonic() - started < 30
    assert not list((platform.home / "blob").rglob("*PASSWD*"))


# -- workbooks out of proportion ----------------------------------------------------------------------
def test_a_far_cell_is_refused_before_reading_naming_file_and_sheet(tmp_path):
    path = write_workbook(tmp_path / workbook_name("GREYSON"), [line(f"GRE-{i}", "A") for i in range(20)])
    book = load_workbook(path)
    book["MASTER"]["XFD1048576"] = "far away"
    book.save(path)
    assert path.stat().st_size < 20_000
    started = time.monotonic()
    with pytest.raises(WorkbookError) as error:
        read_order_sheet(path.read_bytes(), path.name, SCHEMA)
    assert time.monotonic() - started < 2
    assert error.value.file == path.name and error.value.sheet == "MASTER"
    assert "XFD1048576" in str(error.value) and "17,179,869,184 cells" in str(error.value)


def test_a_large_but_proportionate_sheet_is_read(tmp_path):
    path = write_workbook(tmp_path / "x.xlsx", [line(f"GRE-{i}", "A") for i in range(50)])
    limits = WorkbookLimits(max_sheet_cells=51 * 13)  # 50 lines + header, 13 columns: exactly at the limit
    assert len(read_order_sheet(path.read_bytes(), path.name, SCHEMA, limits).row_numbers) == 50
    with pytest.raises(WorkbookError, match="663 cells"):
        read_order_sheet(path.read_bytes(), path.name, SCHEMA, WorkbookLimits(max_sheet_cells=51 * 13 - 1))


def _with_part(data: bytes, name: str, content: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        target.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_reading(tmp_path):
    path = write_workbook(tmp_path / workbook_name("BOMB"), [line("BOM-1", "A")])
    bomb = _with_part(path.read_bytes(), "xl/media/padding.bin", b"\0" * 50_000_000)
    assert len(bomb) < 200_000  # small enough for CI: 50 MB of zeros in ~50 KB
    with pytest.raises(WorkbookError, match="zip bomb") as error:
        read_order_sheet(bomb, path.name, SCHEMA)
    assert error.value.file == path.name and "xl/media/padding.bin" in str(error.value)
    with pytest.raises(WorkbookError, match="decompresses to 50 MB"):
        read_order_sheet(bomb, path.name, SCHEMA, WorkbookLimits(max_uncompressed_mb=20, max_compression_ratio=10**6))


def test_a_bomb_fails_its_customer_alone(platform):
    from order_platform.workers.runner import run_customers

    path = write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A")])
    path.write_bytes(_with_part(path.read_bytes(), "xl/media/padding.bin", b"\0" * 50_000_000))
    write_workbook(platform.source / workbook_name("TITLE 9"), [line("TIT-1", "A")])
    reports = {r.customer: r for r in run_customers(platform.spec, ["GREYSON", "TITLE NINE"])}
    assert reports["TITLE NINE"].ok
    assert "zip bomb" in reports["GREYSON"].error and path.name in reports["GREYSON"].error
    assert "zip bomb" in platform.pipeline.store.last_load("GREYSON")["error"]


def test_a_file_larger_than_any_workbook_may_be_is_not_even_downloaded(platform, monkeypatch):
    from order_platform.workers.runner import run_customers

    monkeypatch.setenv("ORDER_PLATFORM_MAX_UNCOMPRESSED_MB", "1")
    (platform.source / workbook_name("GREYSON")).write_bytes(os.urandom(1_500_000))  # disguised junk
    write_workbook(platform.source / workbook_name("TITLE 9"), [line("TIT-1", "A")])
    reports = {r.customer: r for r in run_customers(platform.spec, ["GREYSON", "TITLE NINE"])}
    assert reports["TITLE NINE"].ok
    assert "is 2 MB, more than the 1 MB" in reports["GREYSON"].error and "not downloaded" in reports["GREYSON"].error
    assert not list((platform.home / "blob").rglob("GREYSON*"))
