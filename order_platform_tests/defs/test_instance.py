"""The embedded Dagster instance: the project's dagster.yaml as Dagster reads it with nothing set, and the
kept instance <ORDER_PLATFORM_HOME>/dagster that `make ui`, `make demo` and `order-platform refresh` use."""

import sqlite3
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
import yaml
from dagster._core.storage.event_log import ConsolidatedSqliteEventLogStorage

from order_platform.defs.instance import PROJECT_INSTANCE_YAML, ensure_dagster_home
from order_platform.defs.instance_sqlite import tuned_instance_writes
from order_platform.settings import PlatformSettings


def _env_reads(value: object) -> list[object]:
    if isinstance(value, dict):
        found = [value["env"]] if "env" in value else []
        return found + [e for v in value.values() for e in _env_reads(v)]
    if isinstance(value, list):
        return [e for v in value for e in _env_reads(v)]
    return []


def test_the_project_instance_reads_no_environment_variable():
    assert _env_reads(yaml.safe_load(PROJECT_INSTANCE_YAML.read_text(encoding="utf-8"))) == []


def test_the_kept_instance_is_under_order_platform_home_with_one_event_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("ORDER_PLATFORM_HOME", str(tmp_path / "platform"))
    home = ensure_dagster_home(PlatformSettings())
    assert home == tmp_path / "platform" / "dagster" and (home / "dagster.yaml").exists()
    with dg.DagsterInstance.get() as instance:
        assert instance.root_directory == str(home)
        assert isinstance(instance.event_log_storage, ConsolidatedSqliteEventLogStorage)
        assert instance.run_monitoring_enabled
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1

    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    ensure_dagster_home(PlatformSettings())  # an instance's own dagster.yaml is kept as it is
    assert (home / "dagster.yaml").read_text(encoding="utf-8") == "telemetry:\n  enabled: false\n"


def _synchronous(url: str) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)  # a new connection, as Dagster's storages
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA synchronous").scalar_one())


def test_the_instance_databases_commit_without_fsync_while_a_command_writes_them(tmp_path: Path):
    home, elsewhere = tmp_path / "dagster", tmp_path / "other.db"
    (home / "history").mkdir(parents=True)
    inside = f"sqlite:///{home / 'history' / 'runs.db'}"
    full, normal = 2, 1  # SQLite's default, and what WAL mode needs
    assert _synchronous(inside) == full
    with tuned_instance_writes(home), tuned_instance_writes(home):  # nested: the run inside the command
        assert _synchronous(inside) == normal
        assert _synchronous(f"sqlite:///{elsewhere}") == full  # only the instance's own files
    with tuned_instance_writes(home):
        pass
    assert _synchronous(inside) == full  # the listener is gone with the last holder
    with tuned_instance_writes(None):
        assert _synchronous(inside) == full


def _insert(url: str, value: int) -> object:
    """A new engine per statement, as Dagster's storages: the compiled INSERT it ran."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    table = sa.table("t", sa.column("v", sa.Integer))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS t (v INTEGER)")
        return conn.execute(sa.insert(table).values(v=value)).context.compiled


def _values(url: str) -> list[int]:
    with sa.create_engine(url, poolclass=sa.pool.NullPool).connect() as conn:
        return [row[0] for row in conn.exec_driver_sql("SELECT v FROM t ORDER BY v")]


def test_the_instance_databases_compile_each_statement_once_across_engines(tmp_path: Path):
    home = tmp_path / "dagster"
    home.mkdir()
    inside, elsewhere = f"sqlite:///{home / 'event_log.db'}", f"sqlite:///{tmp_path / 'other.db'}"
    with tuned_instance_writes(home):
        first, second = _insert(inside, 1), _insert(inside, 2)
        assert first is second  # compiled by the first engine, reused by the second
        assert _insert(elsewhere, 1) is not _insert(elsewhere, 2)  # only the instance's own files
    assert _values(inside) == [1, 2]  # each row with its own parameters: none kept in the cache
    assert _insert(inside, 3) is not _insert(inside, 4)  # the listeners are gone with the last holder


def _connect(url: str) -> sa.Connection:
    return sa.create_engine(url, poolclass=sa.pool.NullPool).connect()  # a new engine, as Dagster's storages


def test_the_instance_databases_keep_their_connections_between_engines(tmp_path: Path):
    home = tmp_path / "dagster"
    home.mkdir()
    inside, elsewhere = f"sqlite:///{home / 'event_log.db'}", f"sqlite:///{tmp_path / 'other.db'}"
    _insert(inside, 1)
    with tuned_instance_writes(home):
        with _connect(inside) as conn:  # a TEMP table lives as long as its SQLite connection
            conn.exec_driver_sql("CREATE TEMP TABLE marker (x INTEGER)")
            with _connect(inside) as nested:  # one in use is not handed out twice
                assert nested.exec_driver_sql("SELECT count(*) FROM sqlite_temp_master").scalar_one() == 0
        with _connect(inside) as conn:  # the next engine gets the kept connection
            assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_temp_master").scalar_one() == 1
            conn.exec_driver_sql("INSERT INTO t VALUES (99)")  # left uncommitted: rolled back on close
        outside = sqlite3.connect(home / "event_log.db")
        outside.execute("INSERT INTO t VALUES (2)")  # another process's commit, while the connection is kept
        outside.commit()
        outside.close()
        with _connect(inside) as conn:
            assert [r[0] for r in conn.exec_driver_sql("SELECT v FROM t ORDER BY v")] == [1, 2]
        with _connect(elsewhere) as conn:  # only the instance's own files
            conn.exec_driver_sql("CREATE TEMP TABLE marker (x INTEGER)")
        with _connect(elsewhere) as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_temp_master").scalar_one() == 0
    with _connect(inside) as conn:  # closed with the last holder
        assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_temp_master").scalar_one() == 0
    assert _values(inside) == [1, 2]

