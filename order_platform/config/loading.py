"""Reading the configuration files strictly: every key is known, every value typed, and any problem is
one line that names the file and the key (`monday_board.json: unknown key 'sync.retry.max_atempts'`).

A key the code does not read is refused rather than ignored: a mistyped knob would otherwise fall back
to its default without a word. Each object may carry a `note`, prose for the people editing the file.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

PACKAGED = "order_platform/config"


class ConfigFileError(ValueError):
    """A configuration file that cannot be used as written: one line naming the file and the key."""


class StrictModel(BaseModel):
    """An object of a configuration file: unknown keys refused, read-only once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    note: str | None = None  # for people editing the file; the code never reads it


Model = TypeVar("Model", bound=BaseModel)


def key_path(loc: tuple[int | str, ...]) -> str:
    """`('item_columns', 3, 'monday_type')` -> `item_columns[3].monday_type`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def one_line_problems(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        where = key_path(tuple(error.get("loc", ())))
        if error["type"] == "extra_forbidden":
            problems.append(f"unknown key {where!r}")
        elif error["type"] == "missing":
            problems.append(f"missing key {where!r}")
        else:
            message = " ".join(str(error.get("msg", "")).removeprefix("Value error, ").split())
            problems.append(f"key {where!r}: {message}" if where else message)
    return "; ".join(problems)


def parse_config(model: type[Model], raw: Any, file: str) -> Model:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigFileError(f"{file}: {one_line_problems(exc)}") from None


def _json(text: str, file: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigFileError(f"{file}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None


def read_config_file(model: type[Model], path: Path | str) -> Model:
    """A configuration file at `path` (e.g. MONDAY_BOARD_CONFIG), validated against `model`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return parse_config(model, _json(text, str(path)), str(path))


def read_packaged_config(model: type[Model], name: str) -> Model:
    """A configuration file shipped in order_platform/config/, validated against `model`."""
    text = resources.files("order_platform.config").joinpath(name).read_text(encoding="utf-8")
    file = f"{PACKAGED}/{name}"
    return parse_config(model, _json(text, file), file)
