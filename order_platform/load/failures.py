"""How a customer's failure is told and recorded when it is not a bad workbook (that one explains itself).

Shared by the pipeline (an exception inside a load), the worker processes and the runner (a worker
that died, or a run that was stopped): the error always names the workbook and what happened.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from datetime import datetime

from order_platform.ingest.changes import listing_version
from order_platform.ingest.source import WorkbookRef
from order_platform.warehouse.store import LoadRecord, OrderStore

log = logging.getLogger(__name__)


def file_names(refs: list[WorkbookRef]) -> str:
    return ", ".join(repr(r.file_name) for r in refs) or "no workbook"


def unexpected_failure(
    exc: BaseException, customer: str, layer: str, refs: list[WorkbookRef], memory_limit_mb: int | None
) -> tuple[str, str | None]:
    """The error and traceback of an exception that is not a workbook's fault (logged with its traceback).

    MemoryError: the worker's memory limit, in words. A Rust panic in the reader (pyo3's PanicException
    is a BaseException) or a bug: the exception with its traceback.
    """
    if isinstance(exc, MemoryError):
        limit = f"over the {memory_limit_mb} MB memory limit" if memory_limit_mb else "out of memory"
        return f"{limit} in the {layer} layer of {file_names(refs)}", None
    text = traceback.format_exc()
    if isinstance(exc, Exception):
        error = f"{type(exc).__name__}: {exc}"
    else:
        error = f"the {layer} layer failed on {file_names(refs)}: {type(exc).__name__}: {exc}"
    log.error("%s: %s\n%s", customer, error, text)
    return error, text


def record_failed_load(store: OrderStore, customer: str, refs: list[WorkbookRef], error: str) -> None:
    """Write a failed load to ORDER_LIST_LOADS for a customer whose load could not (its worker crashed or
    was stopped); a failing database must not hide the customer's own error, so that is only logged."""
    record = LoadRecord(
        str(uuid.uuid4()), customer, ", ".join(r.path for r in refs), listing_version(refs), None, datetime.now()
    )
    try:
        store.record_failure(record, error)
    except Exception:
        log.exception("could not record the failed load of %s", customer)
