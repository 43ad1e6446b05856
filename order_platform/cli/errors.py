"""Errors for people at a terminal: one line each, the traceback in the log file."""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import ValidationError

LOG_NAME = "order-platform.log"
_MAX = 400


def one_line(exc: BaseException) -> str:
    """The message on one line: settings errors list each variable, others keep their first line."""
    if isinstance(exc, ValidationError):
        problems = []
        for error in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(p) for p in error.get("loc", ()))
            message = str(error.get("msg", "")).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        text = f"invalid settings ({exc.title}): " + "; ".join(problems)
    else:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        text = lines[0] if lines else ""
        if not text or type(exc).__module__.split(".")[0] not in ("order_platform", "builtins"):
            text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= _MAX else text[: _MAX - 3] + "..."


def open_log() -> Path | None:
    """Attach <ORDER_PLATFORM_HOME>/order-platform.log to the root logger (once); None if impossible."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.FileHandler) and handler.baseFilename.endswith(LOG_NAME):
            return Path(handler.baseFilename)
    try:
        from order_platform.settings import PlatformSettings

        home = PlatformSettings().home
        home.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(home / LOG_NAME, encoding="utf-8")
    except Exception:  # the settings themselves may be what is broken
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root.addHandler(handler)
    return Path(handler.baseFilename)
