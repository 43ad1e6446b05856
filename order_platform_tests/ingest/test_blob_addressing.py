"""Blob copies follow the workbook: content-addressed, with a per-customer pointer to the last GOOD copy."""

from __future__ import annotations

import json

from order_platform.ingest.blob import content_blob_name, content_hash, last_good, pointer_name
from order_platform.load.pipeline import LAYERS
from order_platform.workers.runner import run_customers
from order_platform_tests.workbooks import line, workbook_name, write_workbook

REBUILD = frozenset({"raw", "staging", "order_list"})  # the layers after the blob, read from it


def run(platform, layers=frozenset(LAYERS), force=True):
    (report,) = run_customers(platform.spec, ["GREYSON"], layers=layers, force=force)
    return report


def test_a_moved_and_renamed_workbook_still_rebuilds_from_its_blob(platform):
    first = platform.source / "USA CUSTOMERS" / workbook_name("GREYSON")
    write_workbook(first, [line("GRE-1", "A"), line("GRE-2", "B")])
    data = first.read_bytes()
    assert run(platform).ok

    moved = platform.source / "_ARCHIVE" / "2025" / workbook_name("GREYSON CLOTHIERS")
    moved.parent.mkdir(parents=True)
    first.rename(moved)
    rebuilt = run(platform, REBUILD)  # no download: raw is rebuilt from the blob copy

    assert rebuilt.ok, rebuilt.error
    assert rebuilt.published_rows == 2 and "source" not in rebuilt.layers
    blob_root = platform.home / "blob"
    assert (blob_root / content_blob_name(content_hash(data))).read_bytes() == data
    again = run(platform)  # a full run after the move: same content, not uploaded again
    assert again.ok and again.layers["blob"].details["uploaded"] is False
    pointer = json.loads((blob_root / pointer_name("GREYSON")).read_bytes())
    assert pointer["source_path"] == "_ARCHIVE/2025/" + workbook_name("GREYSON CLOTHIERS")
    assert pointer["content_hash"] == content_hash(data)


def test_a_failed_load_never_replaces_the_good_copy_and_a_restored_one_does(platform):
    path = platform.source / workbook_name("GREYSON")
    write_workbook(path, [line("GRE-1", "A")])
    good = path.read_bytes()
    assert run(platform).ok
    blobs = platform.pipeline.blobs

    path.write_bytes(b"PK\x03\x04 this is not a workbook any more")
    broken = run(platform)
    assert not broken.ok
    assert broken.layers["blob"].details["uploaded"] is True  # the broken bytes are kept for inspection...
    assert last_good(blobs, "GREYSON")["content_hash"] == content_hash(good)  # ...but not pointed at

    rebuilt = run(platform, REBUILD)
    assert rebuilt.ok and rebuilt.published_rows == 1  # from the last good copy

    write_workbook(path, [line("GRE-1", "A"), line("GRE-3", "C"), line("GRE-4", "D")])
    restored = run(platform)
    assert restored.ok and restored.published_rows == 3
    assert last_good(blobs, "GREYSON")["content_hash"] == content_hash(path.read_bytes())
    assert run(platform, REBUILD).published_rows == 3


def test_blob_metadata_names_the_source_and_its_hash(platform):
    path = platform.source / "EU" / workbook_name("GREYSON")
    write_workbook(path, [line("GRE-1", "A")])
    report = run(platform)
    details = report.layers["blob"].details
    assert details["name"] == content_blob_name(content_hash(path.read_bytes()))
    assert details["meta_source_path"] == "EU/" + workbook_name("GREYSON")
    assert details["meta_customer"] == "GREYSON"
    assert details["meta_content_hash"] == content_hash(path.read_bytes())
    assert details["meta_source_version"]
