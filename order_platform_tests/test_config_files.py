"""The configuration files are read strictly: an unknown or mistyped key is refused with one line naming
the file and the key, wherever the file is read (the loaders, the CLI, the Dagster code location), and the
board mapping maps only columns the ORDER_LIST schema has."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from order_platform.cli.main import main
from order_platform.config.loading import PACKAGED, ConfigFileError, parse_config, read_packaged_config
from order_platform.monday.mapping import BoardConfig, load_board_config, mapped_columns
from order_platform.schema import HeaderAliasesFile, SchemaFile, order_list_schema
from order_platform.staging.customers import CustomersFile
from stand_ins.sample_data import CUSTOMER_HEADERS, CustomerHeadersFile

ROOT = Path(__file__).resolve().parents[1]
MODELS: dict[str, type[BaseModel]] = {
    "order_list_schema.json": SchemaFile,
    "header_aliases.json": HeaderAliasesFile,
    "customers.json": CustomersFile,
    "monday_board.json": BoardConfig,
}
STAND_IN_MODELS: dict[str, type[BaseModel]] = {"customer_headers.json": CustomerHeadersFile}


def _packaged(name: str) -> Any:
    if name in STAND_IN_MODELS:  # read by the sample data only: beside it, outside the wheel
        return json.loads(CUSTOMER_HEADERS.read_text(encoding="utf-8"))
    return json.loads(resources.files("order_platform.config").joinpath(name).read_text(encoding="utf-8"))


def _mistyped_board(tmp_path: Path) -> Path:
    raw = _packaged("monday_board.json")
    raw["sync"]["retry"]["max_atempts"] = raw["sync"]["retry"].pop("max_attempts")
    path = tmp_path / "my_board.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def test_every_config_file_has_a_strict_loader_and_loads():
    names = sorted(p.name for p in resources.files("order_platform.config").iterdir() if p.name.endswith(".json"))
    assert names == sorted(MODELS)
    for name, model in MODELS.items():
        read_packaged_config(model, name)
    load_board_config()
    assert CUSTOMER_HEADERS.parent.name == "stand_ins"
    parse_config(CustomerHeadersFile, _packaged("customer_headers.json"), str(CUSTOMER_HEADERS))


@pytest.mark.parametrize(
    ("name", "where", "key"),
    [
        ("order_list_schema.json", ["columns", 3], "columns[3].colour"),
        ("header_aliases.json", [], "colour"),
        ("customers.json", ["customers", 0], "customers[0].colour"),
        ("customer_headers.json", [], "colour"),
        ("monday_board.json", ["sync", "batching"], "sync.batching.colour"),
        ("monday_board.json", ["board", "scope"], "board.scope.colour"),
        ("monday_board.json", ["item_columns", 2], "item_columns[2].colour"),
    ],
)
def test_an_unknown_key_is_refused_in_one_line_naming_file_and_key(name: str, where: list[Any], key: str):
    raw = _packaged(name)
    node = raw
    for step in where:
        node = node[step]
    node["colour"] = "#ff0000"
    file = f"{PACKAGED}/{name}"
    with pytest.raises(ConfigFileError) as refused:
        parse_config({**MODELS, **STAND_IN_MODELS}[name], raw, file)
    assert str(refused.value) == f"{file}: unknown key '{key}'"


def test_a_mistyped_value_or_missing_key_is_one_line_too():
    raw = _packaged("monday_board.json")
    raw["item_columns"][0]["monday_type"] = "txt"
    del raw["item_columns"][1]["monday_column_id"]
    with pytest.raises(ConfigFileError) as refused:
        parse_config(BoardConfig, raw, "monday_board.json")
    message = str(refused.value)
    assert "\n" not in message and message.startswith("monday_board.json: key 'item_columns[0].monday_type': ")
    assert "missing key 'item_columns[1].monday_column_id'" in message


def test_no_key_the_code_ignores():
    assert "order_key" not in _packaged("customers.json")  # the key is schema.ORDER_LINE_KEY, defined once
    board = _packaged("monday_board.json")
    assert not {"group_name_rule", "item_name_rule"} & set(board)  # the rules are sync.item_name / group_name


def test_the_board_mapping_is_checked_against_the_schema(tmp_path: Path):
    assert all(column in order_list_schema().by_name for _, column in mapped_columns(load_board_config()))
    raw = _packaged("monday_board.json")
    raw["item_columns"][1]["order_list_column"] = "PO NUMBR"
    raw["sync"]["group_name"]["parts"][1][0] = "CUSTOMER SEASONS"
    path = tmp_path / "board.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ConfigFileError) as refused:
        load_board_config(path)
    assert str(refused.value) == (
        f"{path}: board 'Customer Master Schedule' (9609317401): not in the ORDER_LIST schema "
        "(config/order_list_schema.json): column 'PO NUMBR' (key 'item_columns[1].order_list_column'); "
        "column 'CUSTOMER SEASONS' (key 'sync.group_name.parts[1][0]')"
    )


def test_a_mistyped_key_in_monday_board_config_stops_the_cli_in_one_line(tmp_path, monkeypatch):
    path = _mistyped_board(tmp_path)
    monkeypatch.setenv("MONDAY_BOARD_CONFIG", str(path))
    with pytest.raises(ConfigFileError, match="max_atempts"):
        load_board_config()
    run = CliRunner().invoke(main, ["monday-sync", "--customer", "GREYSON", "--all", "--dry-run"])
    assert run.exit_code == 1
    (line,) = run.output.splitlines()
    assert line.startswith(f"error: {path}: unknown key 'sync.retry.max_atempts' (traceback in ")


def test_a_mistyped_key_in_monday_board_config_stops_the_code_location_loading(tmp_path):
    """`dg check defs` (as `dg dev` and the UI load the code location): refused, the cause in one line."""
    path = _mistyped_board(tmp_path)
    venv = Path(sys.executable).parents[1]
    env = {"PATH": os.pathsep.join([str(venv / "bin"), os.defpath]), "VIRTUAL_ENV": str(venv)}
    checked = subprocess.run(
        [str(venv / "bin" / "dg"), "check", "defs"],
        cwd=ROOT,
        env={**env, "MONDAY_BOARD_CONFIG": str(path), "ORDER_PLATFORM_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 1
    output = checked.stdout + checked.stderr
    assert f"ConfigFileError: {path}: unknown key 'sync.retry.max_atempts'\n" in output, output
