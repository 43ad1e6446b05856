"""Settings are built once where a command, a resource or the factory starts, and passed down: the code
below them (ingest, staging, warehouse, monday, the throttle) takes values, never reads the environment."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

from order_platform.defs.resources import OrderPlatformResource
from order_platform.ingest.workbook_guard import WorkbookLimits
from order_platform.load.factory import PipelineSpec
from order_platform.settings import PlatformSettings

PACKAGE = Path(__file__).resolve().parents[2] / "order_platform"
# Where the settings are built: the command line, the Dagster wiring, the factory of a process's pipeline,
# and run_customers' default for a caller that passes no limits (workers/).
EDGES = ("cli/", "defs/", "load/factory.py", "workers/")


def test_platform_settings_are_built_only_at_the_edges():
    built = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if re.search(r"\bPlatformSettings\(\)", path.read_text(encoding="utf-8"))
    }
    assert {f for f in built if not f.startswith(EDGES)} == set()


def test_the_spec_carries_the_settings_values_to_every_worker(tmp_path, monkeypatch):
    settings = PlatformSettings(
        home=tmp_path, max_sheet_cells=1234, max_uncompressed_mb=5, max_compression_ratio=7, worker_memory_mb=300
    )
    spec = PipelineSpec.from_settings(settings)
    assert spec.limits == WorkbookLimits(max_sheet_cells=1234, max_uncompressed_mb=5, max_compression_ratio=7)
    assert pickle.loads(pickle.dumps(spec)) == spec  # what a worker process receives
    monkeypatch.setenv("ORDER_PLATFORM_MAX_SHEET_CELLS", "99")  # read by no one below the edge
    assert spec.build().workbook_limits == spec.limits

    monkeypatch.setenv("ORDER_PLATFORM_HOME", str(tmp_path))
    monkeypatch.setenv("ORDER_PLATFORM_WORKER_MEMORY_MB", "300")
    resource = OrderPlatformResource()
    assert resource.spec().limits is not None and resource.spec().limits.max_sheet_cells == 99
    assert resource.worker_limits().memory_mb == 300
