"""Shared fixtures: a platform on a temporary folder and SQLite file (real parts, nothing mocked)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from order_platform.load.factory import PipelineSpec
from order_platform.load.pipeline import OrderListPipeline

# The strict monday.com stand-in and its client fixtures, for monday/ and stand_ins/ tests.
pytest_plugins = ["order_platform_tests.monday_fixtures"]


@pytest.fixture(autouse=True, scope="session")
def _platform_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never write the developer's ./.order_platform (e.g. the shared throttle's database)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ORDER_PLATFORM_HOME", str(tmp_path_factory.mktemp("order_platform_home")))
        yield


@dataclass
class Platform:
    home: Path
    source: Path
    spec: PipelineSpec

    @property
    def pipeline(self) -> OrderListPipeline:
        return self.spec.build()


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Platform:
    home = tmp_path / "home"
    source = tmp_path / "source"
    source.mkdir()
    for name in ("ORDER_PLATFORM_SOURCE", "ORDER_PLATFORM_BLOB", "ORDER_PLATFORM_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ORDER_PLATFORM_HOME", str(home))
    monkeypatch.setenv("ORDER_PLATFORM_SOURCE_DIR", str(source))
    monkeypatch.setenv("ORDER_PLATFORM_WORKERS", "1")
    spec = PipelineSpec(f"sqlite:///{home / 'op.db'}", str(source), str(home / "blob"))
    return Platform(home, source, spec)
