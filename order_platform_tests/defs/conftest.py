"""Fixtures for the Dagster layer: a fresh Dagster instance home per test."""

from pathlib import Path

import pytest


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home
