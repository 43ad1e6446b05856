"""`order-platform bench`: the figures the issue asks for, printed, never asserted.

1. the calamine read floor: calamine alone reading the order sheet of every workbook;
2. a full refresh through Dagster of all customers into a fresh instance and database.
   A shared VM's speed drifts by tens of percent, so the refresh runs twice and the floor before,
   between and after; the ratio is that of their means;
3. one changed workbook: sensor tick -> run -> published slice;
4. peak memory of the refresh process and of its worker processes.
Everything runs on a temporary copy of the workbooks, so the real source folder is never touched.
"""

from __future__ import annotations

import io
import os
import resource
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from python_calamine import CalamineWorkbook

from order_platform.ingest.source import LocalFolderSource
from order_platform.ingest.workbook import HEADER_SCAN_ROWS, MIN_KNOWN_HEADERS, WorkbookError, sheet_order
from order_platform.schema import order_list_schema
from order_platform.settings import PlatformSettings


def calamine_floor(source: Path) -> tuple[float, int]:
    """Seconds for calamine alone to read each workbook's order sheet (MASTER, else the first with a header)."""
    schema = order_list_schema()
    rows = 0
    started = time.perf_counter()
    for ref in LocalFolderSource(source).list_workbooks():
        try:
            book = CalamineWorkbook.from_filelike(io.BytesIO((source / ref.path).read_bytes()))
        except Exception:  # not a workbook, empty, encrypted: the refresh fails it without reading too
            continue
        try:
            names = sheet_order(book, ref.path)
        except WorkbookError:
            continue
        for name in names:
            data = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            known = max(
                (sum(1 for c in r if isinstance(c, str) and schema.canonical_for(c)) for r in data[:HEADER_SCAN_ROWS]),
                default=0,
            )
            if known >= MIN_KNOWN_HEADERS:
                rows += len(data)
                break
    return time.perf_counter() - started, rows


def _peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def _changed_workbook_seconds(source: Path, published: set[str]) -> tuple[str, float, int] | None:
    """Rewrite the smallest published workbook with one cell changed; time sensor tick -> published."""
    from openpyxl import load_workbook

    from order_platform.defs.headless import run_sensor_tick

    loaded = [r for r in LocalFolderSource(source).list_workbooks() if r.path in published]
    if not loaded:
        return None
    ref = min(loaded, key=lambda r: r.size)
    path = source / ref.path
    book = load_workbook(path)
    sheet = book["MASTER"] if "MASTER" in book.sheetnames else book.worksheets[0]
    sheet.cell(row=sheet.max_row, column=sheet.max_column).value = "changed by bench"
    book.save(path)

    started = time.perf_counter()
    requests = run_sensor_tick(monday=False)
    return ref.customer_in_file_name, time.perf_counter() - started, requests


def change_history_seconds(database_url: str) -> tuple[float, int]:
    """What the change history adds to publishing every customer again: each customer's staging table compared
    with its published slice (as `publish` does first, in its transaction), rolled back; seconds and lines."""
    from order_platform.load.factory import build_store
    from order_platform.staging.customers import raw_table_name, staging_table_name
    from order_platform.warehouse.changes.diff import SliceChange, record_changes

    store = build_store(database_url)
    tables = {"order_list": store.order_list, "changes": store.changes, "loads": store.loads}
    total, lines = 0.0, 0
    for customer in sorted(store.latest_loads()):
        staging = staging_table_name(customer)
        if not store.table_exists(staging):
            continue
        change = SliceChange(
            customer, "bench", raw_table_name(customer), staging, store.staging_columns(staging), datetime.now()
        )
        with store.engine.connect() as conn:
            started = time.perf_counter()
            summary = record_changes(conn, store.schema, tables, change)
            total += time.perf_counter() - started
            conn.rollback()
        lines += summary.recorded
    return total, lines


REFRESHES = 2  # a shared VM's speed drifts by tens of percent: two of each, interleaved, and their means


def _use_home(home: Path, source: Path) -> None:
    os.environ.update(
        {
            "ORDER_PLATFORM_HOME": str(home),
            "ORDER_PLATFORM_SOURCE_DIR": str(source),
            "DAGSTER_HOME": str(home / "dagster"),
        }
    )


def run_bench(source: Path | None = None, workers: int | None = None) -> None:
    from order_platform.defs.headless import refresh
    from stand_ins.sample_data import generate_sample_workbooks

    settings = PlatformSettings()
    source = Path(source or settings.source_dir or ".")
    if not any(source.rglob("*.xlsx")):
        print(f"no workbooks in {source}: writing the sample workbooks first")
        generate_sample_workbooks(source)
    with tempfile.TemporaryDirectory(prefix="order-platform-bench-") as tmp:
        work = Path(tmp)
        shutil.copytree(source, work / "source")
        _use_home(work / "home0", work / "source")
        os.environ.pop("ORDER_PLATFORM_DATABASE_URL", None)
        if workers:
            os.environ["ORDER_PLATFORM_WORKERS"] = str(workers)
        files = list((work / "source").rglob("*.xlsx"))
        megabytes = sum(f.stat().st_size for f in files) / 1e6
        floor, floor_rows = calamine_floor(work / "source")
        floors = [floor]

        # What a running deployment has already paid once: the code location and the instance.
        started = time.perf_counter()
        from order_platform.defs.headless import prepare_instance

        prepare_instance(PlatformSettings())
        startup = time.perf_counter() - started

        fulls = []
        for attempt in range(REFRESHES):  # each into a fresh database and Dagster instance
            _use_home(work / f"home{attempt}", work / "source")
            started = time.perf_counter()
            outcome = refresh(settings=PlatformSettings(), monday=False)
            fulls.append(time.perf_counter() - started)
            floors.append(calamine_floor(work / "source")[0])
        # the same workbooks again into the last database: every customer's slice is compared with its
        # last published one (the change history) and swapped
        started = time.perf_counter()
        refresh(settings=PlatformSettings(), monday=False, force=True)
        reload_seconds = time.perf_counter() - started
        diff_seconds, _ = change_history_seconds(str(PlatformSettings().database_url))
        published = sum(x.get("published_rows") or 0 for x in outcome.loads)
        quarantined = sum(x.get("quarantined_rows") or 0 for x in outcome.loads)
        raw = sum(x.get("raw_rows") or 0 for x in outcome.loads)

        published_paths = {x["source_path"] for x in outcome.loads if x["status"] == "published"}
        changed = _changed_workbook_seconds(work / "source", published_paths)
        own, children = _peak_mb()

    floor_mean, full = sum(floors) / len(floors), sum(fulls) / len(fulls)
    print(f"workbooks                      {len(files)} ({megabytes:.1f} MB), {raw:,} data rows")
    print(
        f"calamine read floor            {floor_mean:7.2f} s  ({floor_rows:,} sheet rows read; mean of "
        f"{', '.join(f'{f:.2f}' for f in floors)} s, measured before, between and after the refreshes)"
    )
    print(
        f"full refresh through Dagster   {full:7.2f} s  ({published:,} published + {quarantined:,} quarantined, "
        f"{raw / full:,.0f} rows/s, {len(outcome.run_ids)} run; mean of {', '.join(f'{f:.2f}' for f in fulls)} s)"
    )
    print(f"ratio to the read floor        {full / floor_mean:7.2f} x")
    print(f"forced reload of every customer into the same database {reload_seconds:7.2f} s")
    print(f"  of which comparing every slice with its last published load (change history): {diff_seconds:.2f} s")
    print(f"process start (imports, code location, instance), paid once per process: {startup:.2f} s")
    print(f"end to end as a CLI command    {startup + full:7.2f} s")
    if changed:
        customer, changed_seconds, runs = changed
        print(f"changed workbook ({customer}) sensor tick -> published: {changed_seconds:.2f} s ({runs} run)")
    else:
        print("changed workbook               skipped: no customer was published")
    print(f"peak memory                    {own:.0f} MB refresh process, {children:.0f} MB largest worker")
    print(f"failed customers               {len(outcome.failed)}")
