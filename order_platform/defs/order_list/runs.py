"""Building run requests over customer partitions: one run for many customers, not one each."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"


def contiguous_ranges(all_keys: Sequence[str], wanted: set[str]) -> list[tuple[str, str]]:
    """The wanted partition keys as as few (first, last) ranges of the partition order as possible."""
    ranges: list[tuple[str, str]] = []
    start: str | None = None
    previous: str | None = None
    for key in all_keys:
        if key in wanted:
            start = start or key
            previous = key
        elif start is not None:
            ranges.append((start, previous or start))
            start = None
    if start is not None:
        ranges.append((start, previous or start))
    return ranges


def range_run_request(
    first: str, last: str, *, force: bool, run_key: str | None = None, tags: dict[str, str] | None = None
) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=run_key,
        run_config=refresh_run_config(force),
        tags={RANGE_START: first, RANGE_END: last, **(tags or {})},
    )


def refresh_run_config(force: bool) -> dict:
    return {"ops": {"order_list_layers": {"config": {"force": force}}}}
