"""The embedded Dagster instance: <ORDER_PLATFORM_HOME>/dagster, set up from the project's dagster.yaml.

Dagster reads an instance's dagster.yaml from $DAGSTER_HOME when that is set (`make ui`, `make demo`,
`order-platform refresh`: this module sets it), else from the current directory, with storage in a
temporary folder beside it (`dg check defs`, `dg dev` or `dagster dev` in a fresh clone, nothing set).
The project's dagster.yaml serves both, so it reads no environment variable; what only the kept instance
has, the one event log database in its own folder, is added when that instance is set up here.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path

from order_platform.settings import PlatformSettings

PROJECT_INSTANCE_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"

# One SQLite file for every run's events (Dagster's default keeps one file per run plus an index file,
# and writes each asset and check event to both): half the writes, on a machine where every write costs
# a new connection and a commit. Production uses Postgres (deploy/dagster.yaml). Read only from
# $DAGSTER_HOME/dagster.yaml, so DAGSTER_HOME is always set where it is read.
KEPT_INSTANCE_EVENT_LOG = """
# Added by order_platform/defs/instance.py to the project's dagster.yaml for the kept instance.
event_log_storage:
  module: dagster.core.storage.event_log
  class: ConsolidatedSqliteEventLogStorage
  config:
    base_dir:
      env: DAGSTER_HOME
"""


def kept_instance_yaml() -> str:
    """The dagster.yaml of <ORDER_PLATFORM_HOME>/dagster: the project's, with the consolidated event log."""
    return PROJECT_INSTANCE_YAML.read_text(encoding="utf-8").rstrip("\n") + "\n" + KEPT_INSTANCE_EVENT_LOG


def ensure_dagster_home(settings: PlatformSettings) -> Path:
    """DAGSTER_HOME from the environment, else <ORDER_PLATFORM_HOME>/dagster; its dagster.yaml written
    from the project's when it has none (an existing one is the operator's: kept as it is)."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home).absolute()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    if not (home / "dagster.yaml").exists() and PROJECT_INSTANCE_YAML.exists():
        (home / "dagster.yaml").write_text(kept_instance_yaml(), encoding="utf-8")
    return home


@contextmanager
def databases_held_open(home: str | Path | None) -> Iterator[None]:
    """One idle connection to each SQLite database of the embedded instance (events, runs) while a run
    stores its events. Dagster opens and closes a connection for every event, and SQLite checkpoints the
    WAL into the database (and deletes it) whenever the last connection to a database closes: with one
    held open, each event's close is only a close (~3x less CPU per event; a run stores ~900 of them).
    Nothing is read or written through these connections. No-op for other storage (Postgres)."""
    folder = Path(home) if home else None
    with ExitStack() as stack:
        for path in sorted(folder.glob("*.db")) + sorted(folder.glob("*/*.db")) if folder else []:
            try:
                connection = stack.enter_context(closing(sqlite3.connect(path, timeout=1)))
                connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()  # join the WAL's readers
            except sqlite3.Error:  # not a database we can open: nothing to keep open
                continue
        yield


if __name__ == "__main__":  # `make ui`: the UI on the instance `make demo` and the CLI use
    print(ensure_dagster_home(PlatformSettings()))
