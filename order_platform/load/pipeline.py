"""One customer through the ORDER_LIST layers: source -> blob -> raw -> staging -> ORDER_LIST.

Each layer reads its input from the layer before it (in memory when the same call produced it,
else from where that layer stores it), so any layer can be rebuilt alone and the result is the
same. Nothing here knows about Dagster; the assets call these functions and report the results.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import pandas as pd

from order_platform.ingest import read_ahead
from order_platform.ingest.blob import BlobPut, BlobStore, content_hash, last_good, mark_good, put_workbook
from order_platform.ingest.changes import listing_version
from order_platform.ingest.source import SourceFileError, WorkbookRef, WorkbookSource
from order_platform.ingest.workbook import SheetData, WorkbookError, read_order_sheet
from order_platform.ingest.workbook_guard import WorkbookLimits, stored_size_refusal
from order_platform.load import stages
from order_platform.load.failures import unexpected_failure
from order_platform.load.stages import timed
from order_platform.schema import OrderListSchema
from order_platform.staging.checks import CheckOutcome, blocking_failures, staging_checks
from order_platform.staging.customers import CustomerDirectory, raw_table_name, shortened_table_note, staging_table_name
from order_platform.staging.date_order import DateOrderContext
from order_platform.staging.transform import StagingResult, stage
from order_platform.warehouse.changes.diff import ChangeSummary
from order_platform.warehouse.store import LoadRecord, OrderStore, PublishMismatch, raw_frame
from order_platform.warehouse.writes.limits import customer_name_refusal

PUBLISHED_MATCHES_STAGED = "published_matches_staged"

log = logging.getLogger(__name__)


class CustomerError(Exception):
    """A customer's load cannot go on; the message is for the person who reads the run."""


@dataclass
class SourceResult:
    ref: WorkbookRef
    data: bytes
    content_hash: str
    seconds: float


@dataclass
class RawResult:
    table: str
    headers: list[str]
    frame: pd.DataFrame
    sheet: SheetData | None
    seconds: float


@dataclass
class StageResult:
    table: str
    result: StagingResult
    checks: list[CheckOutcome]
    seconds: float


@dataclass
class PublishResult:
    rows: int
    load_id: str
    seconds: float
    changes: ChangeSummary = field(default_factory=ChangeSummary)


@dataclass
class CustomerRun:
    """What happened to one customer in one run (layers that ran, and the error if any)."""

    customer: str
    ref: WorkbookRef | None = None
    source: SourceResult | None = None
    blob: BlobPut | None = None
    raw: RawResult | None = None
    staged: StageResult | None = None
    published: PublishResult | None = None
    unchanged: bool = False
    source_removed: bool = False  # its workbook was loaded before and is gone from the source now
    note: str | None = None
    error: str | None = None
    traceback: str | None = None
    table_note: str | None = None  # how its table names were shortened for SQL Server, when they were
    seconds: float = 0.0
    layer_seconds: dict[str, float] = field(default_factory=dict)
    stages: dict[str, tuple[float, float]] = field(default_factory=dict)  # stage -> (wall, CPU) s, see stages.py

    @property
    def ok(self) -> bool:
        return self.error is None


LAYERS = ("source", "blob", "raw", "staging", "order_list")


class OrderListPipeline:
    def __init__(
        self,
        source: WorkbookSource,
        blobs: BlobStore,
        store: OrderStore,
        schema: OrderListSchema,
        directory: CustomerDirectory,
        workbook_limits: WorkbookLimits | None = None,
    ) -> None:
        self.source = source
        self.blobs = blobs
        self.store = store
        self.schema = schema
        self.directory = directory
        self.workbook_limits = workbook_limits or WorkbookLimits()
        self.memory_limit_mb: int | None = None  # the worker's limit, named when memory runs out
        self.on_layer: Callable[[str], None] | None = None  # told as each layer starts (crash reports)
        self.listing_notes: list[str] = []  # what the last listing skipped, and why

    # -- where each customer's workbook is ---------------------------------------------------
    def workbooks(self) -> dict[str, list[WorkbookRef]]:
        """Workbooks in the source by customer partition key (more than one is an error later)."""
        found: dict[str, list[WorkbookRef]] = {}
        refs = self.source.list_workbooks()
        notes = list(getattr(self.source, "notes", []))
        for ref in refs:
            customer = self.directory.partition_key(ref.customer_in_file_name)
            refusal = customer_name_refusal(customer, ref.path)
            if refusal:
                notes.append(refusal)
                log.warning(refusal)
                continue
            found.setdefault(customer, []).append(ref)
        self.listing_notes = notes
        return found

    def locate(self, customer: str, listing: dict[str, list[WorkbookRef]] | None = None) -> WorkbookRef:
        refs = (listing if listing is not None else self.workbooks()).get(customer, [])
        if not refs:
            raise CustomerError(
                f"no '<CUSTOMER> ORDER LIST (M3).xlsx' workbook for {customer} in {self.source.describe()}"
            )
        if len(refs) > 1:
            paths = ", ".join(repr(r.path) for r in refs)
            raise CustomerError(f"{len(refs)} workbooks claim customer {customer}: {paths}; keep one")
        return refs[0]

    # -- layers -----------------------------------------------------------------------------------
    def fetch_source(self, ref: WorkbookRef) -> SourceResult:
        started = time.perf_counter()
        if refusal := stored_size_refusal(ref.path, ref.size, self.workbook_limits):
            raise CustomerError(refusal)
        with timed("source"):
            data = self.source.read_bytes(ref)
            digest = content_hash(data)
        return SourceResult(ref, data, digest, time.perf_counter() - started)

    def copy_to_blob(self, source: SourceResult, customer: str = "") -> BlobPut:
        """The workbook under its content hash; the customer's pointer moves only after a good load."""
        ref = source.ref
        metadata = {"customer": customer, "source_path": ref.path, "source_version": ref.version}
        if ref.etag:
            metadata["source_etag"] = ref.etag
        with timed("blob"):
            return put_workbook(self.blobs, source.data, metadata)

    def blob_copy(self, customer: str, ref: WorkbookRef) -> bytes:
        """The customer's last good blob copy (wherever the workbook has moved since)."""
        pointer = last_good(self.blobs, customer)
        if pointer is not None:
            return self.blobs.get(pointer["blob"])
        if self.blobs.stored_hash(ref.path) is not None:  # copied before blobs were content-addressed
            return self.blobs.get(ref.path)
        raise CustomerError(
            f"no good blob copy of {customer}'s workbook in {self.blobs.describe()} yet; "
            "materialise the blob layer (with the layers after it) first"
        )

    def load_raw(
        self, customer: str, ref: WorkbookRef, data: bytes | None = None, digest: str | None = None
    ) -> RawResult:
        """The raw table from the workbook's bytes (`digest`: their content hash, when known). A sheet the
        fork server read ahead from the same bytes (ingest/read_ahead.py) is used instead of reading again."""
        started = time.perf_counter()
        if data is None:
            data, digest = self.blob_copy(customer, ref), None
        with timed("cell_text"):
            sheet = read_ahead.take(data, digest, ref.file_name, self.schema, self.workbook_limits)
            if sheet is None:
                sheet = read_order_sheet(data, ref.file_name, self.schema, self.workbook_limits)
            else:
                log.debug("%s: order sheet of %r read ahead by the fork server", customer, ref.file_name)
            frame = raw_frame(
                dict(zip(sheet.headers, sheet.columns, strict=True)),
                sheet.row_numbers,
                ref.path,
                sheet.sheet,
                datetime.now(),
            )
        table = raw_table_name(customer)
        with timed("raw_write"):
            self.store.write_raw(table, sheet.headers, frame)
        return RawResult(table, sheet.headers, frame, sheet, time.perf_counter() - started)

    def read_raw(self, customer: str) -> RawResult:
        table = raw_table_name(customer)
        if not self.store.table_exists(table):
            raise CustomerError(f"raw table {table} does not exist yet; materialise the raw layer first")
        frame, headers = self.store.read_raw(table)
        return RawResult(table, headers, frame, None, 0.0)

    def date_context(self, customer: str, ref: WorkbookRef) -> DateOrderContext:
        """What decides the day/month order of text dates when the workbook does not: the customer's
        setting, the order its earlier loads used, the region folder the workbook sits in."""
        region, folder = self.directory.region_date_order(ref.path)
        return DateOrderContext(
            configured=self.directory.date_order(customer),
            remembered=self.store.remembered_date_order(customer),
            region=region,
            region_folder=folder,
        )

    def stage(self, customer: str, ref: WorkbookRef, raw: RawResult) -> StageResult:
        started = time.perf_counter()
        with timed("typing"):
            result = self._typed(customer, ref, raw)
            checks = staging_checks(result, raw.headers, self.schema)
        table = staging_table_name(customer)
        with timed("staging_write"):
            self.store.write_staging(table, result.staged)
        return StageResult(table, result, checks, time.perf_counter() - started)

    def _typed(self, customer: str, ref: WorkbookRef, raw: RawResult) -> StagingResult:
        return stage(
            raw.frame,
            raw.headers,
            customer=customer,
            source_table=raw.table,
            load_id=str(uuid.uuid4()),
            schema=self.schema,
            directory=self.directory,
            dates=self.date_context(customer, ref),
        )

    def publish(
        self, customer: str, ref: WorkbookRef, staged: StageResult, digest: str | None
    ) -> PublishResult:
        started = time.perf_counter()
        failures = blocking_failures(staged.checks)
        if failures:
            raise CustomerError(
                "not published, blocking checks failed: " + "; ".join(f.summary for f in failures)
            )
        result = staged.result
        load_id = str(result.staged["_LOAD_ID"].iloc[0]) if len(result.staged) else str(uuid.uuid4())
        record = LoadRecord(load_id, customer, ref.path, ref.version, digest, datetime.now())
        staged_rows = len(result.staged)
        counts = {"raw_rows": result.raw_rows, "staged_rows": staged_rows, "quarantined_rows": result.quarantined_rows}
        try:
            with timed("publish"):
                published = self.store.publish(
                    record,
                    raw_table_name(customer),
                    staged.table,
                    result.quarantine,
                    counts,
                    result.unknown_headers,
                    cell_issues=result.cell_issues,
                    date_order=result.date_order,
                    notes=result.notes,
                )
        except PublishMismatch as exc:
            staged.checks.append(_publish_check(exc.staged, exc.published))
            raise CustomerError(str(exc)) from exc
        staged.checks.append(_publish_check(staged_rows, published.rows))
        return PublishResult(published.rows, load_id, time.perf_counter() - started, published.changes)

    def removed_customers(self, listing: dict[str, list[WorkbookRef]] | None = None) -> list[str]:
        """Customers published before whose workbook is gone from the source (and not retired).

        Each is logged once as 'source_removed' in the load log (so `summary` shows it), without
        running any layer. Schedules and sensors skip these; `order-platform retire` retires them.
        """
        listing = listing if listing is not None else self.workbooks()
        removed = []
        for customer, latest in sorted(self.store.latest_loads().items()):
            if customer in listing or latest["status"] == "retired":
                continue
            run = CustomerRun(customer)
            record = LoadRecord(str(uuid.uuid4()), customer, "", None, None, datetime.now())
            if self.mark_source_removed(run, record):
                removed.append(customer)
        return removed

    def mark_source_removed(self, run: CustomerRun, record: LoadRecord) -> bool:
        """A customer published before whose workbook is gone: 'source removed', not failed.

        Its ORDER_LIST slice stays until someone retires it (`order-platform retire`). Logged once
        (not again while it stays removed). False for a customer never published: that is an error.
        """
        customer = run.customer
        if self.store.last_load(customer, status="published") is None:
            return False
        latest = self.store.last_load(customer)
        run.source_removed = True
        run.note = (
            f"workbook gone from {self.source.describe()} (last loaded from {latest and latest['source_path']!r}); "
            f"its ORDER_LIST slice is kept until `order-platform retire {customer!r}`"
        )
        if latest is None or latest["status"] not in ("source_removed", "retired"):
            where = latest["source_path"] if latest else ""
            self.store.record_outcome(replace(record, source_path=where), "source_removed", run.note)
        return True

    # -- the whole chain for one customer -----------------------------------------------------------
    _current = "source"

    def _layer(self, layer: str) -> None:
        self._current = layer
        if self.on_layer:
            self.on_layer(layer)

    def run_customer(
        self,
        customer: str,
        layers: set[str] | frozenset[str] = frozenset(LAYERS),
        *,
        force: bool = True,
        listing: dict[str, list[WorkbookRef]] | None = None,
    ) -> CustomerRun:
        """Run the selected layers for one customer; errors are caught and reported, never half-published."""
        outer = stages.take()  # this customer's stages from here (the caller's are given back after)
        try:
            run = self._run_layers(customer, layers, force=force, listing=listing)
        finally:
            taken = stages.take()
            stages.give_back(outer)
        run.stages = taken
        return run

    def _run_layers(
        self,
        customer: str,
        layers: set[str] | frozenset[str],
        *,
        force: bool,
        listing: dict[str, list[WorkbookRef]] | None,
    ) -> CustomerRun:
        run = CustomerRun(customer)
        started = time.perf_counter()
        listing = listing if listing is not None else self.workbooks()
        refs = listing.get(customer, [])
        record = LoadRecord(
            str(uuid.uuid4()),
            customer,
            ", ".join(r.path for r in refs),
            listing_version(refs),
            None,
            datetime.now(),
        )
        try:
            if not refs and self.mark_source_removed(run, record):
                return run
            run.ref = ref = self.locate(customer, listing)
            if refusal := customer_name_refusal(customer, ref.path):
                raise CustomerError(refusal)
            run.table_note = shortened_table_note(customer)
            data: bytes | None = None
            digest: str | None = None
            last = None if force else self.store.last_load(customer, status="published")
            if read_before(last, ref):  # same version: not even downloaded
                run.unchanged = True
                return run
            if "source" in layers or "blob" in layers:
                self._layer("source")
                run.source = self.fetch_source(ref)
                data, digest = run.source.data, run.source.content_hash
                if last and last["content_hash"] == digest:  # touched, but the same bytes
                    run.unchanged = True
                    self.store.record_unchanged(replace(record, content_hash=digest))
                    return run
            if "blob" in layers:
                self._layer("blob")
                assert run.source is not None
                run.blob = self.copy_to_blob(run.source, customer)
            raw: RawResult | None = None
            if "raw" in layers:
                self._layer("raw")
                raw = run.raw = self.load_raw(customer, ref, data, digest)
            staged: StageResult | None = None
            if "staging" in layers:
                self._layer("staging")
                staged = run.staged = self.stage(customer, ref, raw or self.read_raw(customer))
            if "order_list" in layers:
                self._layer("order_list")
                if staged is None:
                    staged = run.staged = self.stage(customer, ref, self.read_raw(customer))
                if digest is None:
                    pointer = last_good(self.blobs, customer)
                    digest = pointer["content_hash"] if pointer else None
                run.published = self.publish(customer, ref, staged, digest)
            if run.blob is not None:  # every selected layer succeeded: this copy is the good one now
                mark_good(self.blobs, customer, run.blob)
        except (WorkbookError, CustomerError, SourceFileError) as exc:
            run.error = str(exc)
        except (KeyboardInterrupt, SystemExit, GeneratorExit):
            raise
        except BaseException as exc:  # out of memory, a bug, a panic in the reader: still this customer's alone
            run.error, run.traceback = unexpected_failure(exc, customer, self._current, refs, self.memory_limit_mb)
        finally:
            run.seconds = time.perf_counter() - started
        if run.error:
            counts = {}
            if run.staged:
                counts = {
                    "raw_rows": run.staged.result.raw_rows,
                    "staged_rows": len(run.staged.result.staged),
                }
            digest = run.source.content_hash if run.source else None
            self.store.record_failure(replace(record, content_hash=digest), run.error, counts)
        return run


def read_before(last_published: Mapping[str, Any] | None, ref: WorkbookRef) -> bool:
    """Whether the last published load read this very version of the workbook: a load (and the
    read-ahead) leaves it unopened."""
    return last_published is not None and last_published["source_version"] == ref.version


def _publish_check(staged: int, published: int) -> CheckOutcome:
    ok = staged == published
    return CheckOutcome(
        PUBLISHED_MATCHES_STAGED,
        ok,
        True,
        f"staged {staged:,} = published {published:,}" if ok else f"staged {staged:,} != published {published:,}",
        {"staged_rows": staged, "published_rows": published},
    )
