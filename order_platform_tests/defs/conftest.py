"""Fixtures for the Dagster layer: a fresh Dagster instance home per test, every line in the board's scope."""

from pathlib import Path

import pytest

from order_platform.defs.instance import kept_instance_yaml
from order_platform.monday import load_board_config


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An instance home set up as `make ui` and the CLI set one up (the project's dagster.yaml, one event log)."""
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(kept_instance_yaml(), encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def every_line_in_scope(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The board mapping with a scope that takes every line (MONDAY_BOARD_CONFIG): these tests are about
    the wiring, and their workbooks span seasons; the default scope is tested in monday/."""
    path = tmp_path_factory.mktemp("monday_config") / "monday_board.json"
    path.write_text(load_board_config(path=None).with_scope().model_dump_json(), encoding="utf-8")
    monkeypatch.setenv("MONDAY_BOARD_CONFIG", str(path))
