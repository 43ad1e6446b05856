"""deploy/dagster.yaml and deploy/values.yaml: valid for Dagster, consistent, and loadable on Postgres.

Validation goes through public APIs only: each configurable class's own `config_type()` checked with
`dagster.validate_run_config`, and (when PostgreSQL is installed) `DagsterInstance.get()` on the file.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DB_POOL = "order_platform_load"


@pytest.fixture
def k8s() -> Any:
    """dagster_k8s, imported in the test (not at collection: see conftest's logger guard)."""
    return pytest.importorskip("dagster_k8s", reason="the `production` extra (dagster-k8s) is not installed")


@pytest.fixture
def pg() -> Any:
    return pytest.importorskip("dagster_postgres", reason="the `production` extra (dagster-postgres) is missing")


PG_ENV = {
    "DAGSTER_PG_HOST": "pg.example",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_USERNAME": "dagster",
    "DAGSTER_PG_PASSWORD": "secret",
    "DAGSTER_PG_DB": "dagster",
}


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / name).read_text(encoding="utf-8"))


def validate(schema: Any, value: Any) -> Any:
    """`value` checked and processed (env vars resolved) against a config schema, via a one-op job."""

    @dg.resource(config_schema=schema)
    def part(_) -> None:  # unannotated: Dagster reads the (string) annotation and refuses it
        return None

    @dg.op(required_resource_keys={"part"})
    def noop() -> None:
        return None

    @dg.job(resource_defs={"part": part})
    def check() -> None:
        noop()

    processed = dg.validate_run_config(check, {"resources": {"part": {"config": value}}})
    return processed["resources"]["part"]["config"]


# -- deploy/dagster.yaml ---------------------------------------------------------------------------------
def test_instance_has_the_production_sections() -> None:
    config = load("dagster.yaml")
    assert set(config) >= {"storage", "run_launcher", "concurrency"}
    assert list(config["storage"]) == ["postgres"]
    assert config["run_launcher"]["module"] == "dagster_k8s"
    assert config["run_launcher"]["class"] == "K8sRunLauncher"
    # concurrency.runs replaces run_coordinator limits; Dagster refuses both at once.
    assert "run_coordinator" not in config and "run_queue" not in config
    runs, pools = config["concurrency"]["runs"], config["concurrency"]["pools"]
    assert runs["max_concurrent_runs"] >= 2
    assert pools["default_limit"] == 1  # pools without a limit set: one step at a time
    assert pools["granularity"] in ("op", "run")
    assert {t["key"] for t in runs["tag_concurrency_limits"]} >= {"dagster/backfill"}


def test_postgres_storage_reads_every_setting_from_dagster_pg_env(pg: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = load("dagster.yaml")["storage"]["postgres"]
    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    resolved = validate(pg.DagsterPostgresStorage.config_type(), storage)["postgres_db"]
    assert resolved == {
        "hostname": "pg.example",
        "port": 5432,
        "username": "dagster",
        "password": "secret",
        "db_name": "dagster",
        "params": {},
        "scheme": "postgresql+psycopg2",  # SQLAlchemy 2.1's bare `postgresql` means psycopg 3
    }


def test_postgres_storage_fails_when_an_env_var_is_missing(pg: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = load("dagster.yaml")["storage"]["postgres"]
    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DAGSTER_PG_PASSWORD")
    with pytest.raises(dg.DagsterInvalidConfigError, match="DAGSTER_PG_PASSWORD"):
        validate(pg.DagsterPostgresStorage.config_type(), storage)


def test_k8s_run_launcher_config_is_valid(k8s: Any) -> None:
    launcher = validate(k8s.K8sRunLauncher.config_type(), load("dagster.yaml")["run_launcher"]["config"])
    assert launcher["instance_config_map"] == "dagster-instance"
    assert launcher["load_incluster_config"] is True
    assert launcher["dagster_home"] == "/opt/dagster/dagster_home"
    assert set(launcher["env_secrets"]) == {"order-platform-database", "order-platform-monday", "order-platform-azure"}


def test_validation_catches_a_wrong_launcher_setting(k8s: Any) -> None:
    """The check is real: a misspelt key or wrong type is refused."""
    config = load("dagster.yaml")["run_launcher"]["config"]
    with pytest.raises(dg.DagsterInvalidConfigError, match="env_secret"):
        validate(k8s.K8sRunLauncher.config_type(), {**config, "env_secret": ["x"]})
    with pytest.raises(dg.DagsterInvalidConfigError):
        validate(k8s.K8sRunLauncher.config_type(), {**config, "load_incluster_config": "yes"})


# -- deploy/values.yaml (Helm) mirrors deploy/dagster.yaml ---------------------------------------------
def test_helm_values_match_the_instance_file() -> None:
    instance, values = load("dagster.yaml"), load("values.yaml")
    runs, pools = instance["concurrency"]["runs"], instance["concurrency"]["pools"]
    assert values["concurrency"]["runs"]["maxConcurrentRuns"] == runs["max_concurrent_runs"]
    assert values["concurrency"]["runs"]["tagConcurrencyLimits"] == runs["tag_concurrency_limits"]
    assert values["concurrency"]["pools"]["defaultLimit"] == pools["default_limit"]
    assert values["concurrency"]["pools"]["granularity"] == pools["granularity"]
    # The chart refuses queued-run-coordinator limits next to `concurrency.runs`.
    assert not values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    # Dagster frees the pool slots of ended runs (a killed step keeps its slot otherwise).
    slots_after = instance["run_monitoring"]["free_slots_after_run_end_seconds"]
    assert slots_after > 0
    assert values["dagsterDaemon"]["runMonitoring"]["freeSlotsAfterRunEndSeconds"] == slots_after
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    wanted = set(instance["run_launcher"]["config"]["env_secrets"])
    assert {s["name"] for s in launcher["envSecrets"]} == wanted
    assert launcher["jobNamespace"] == instance["run_launcher"]["config"]["job_namespace"]


def test_helm_user_code_deployment_serves_this_project() -> None:
    values = load("values.yaml")
    module = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["dagster"]["module_name"]
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", module]
    assert deployment["image"]["tag"] != "latest"
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is True
    secrets = {s["name"] for s in deployment["envSecrets"]}
    assert secrets == set(load("dagster.yaml")["run_launcher"]["config"]["env_secrets"])
    assert values["postgresql"]["enabled"] is False and values["postgresql"]["postgresqlHost"]
    scheme = load("dagster.yaml")["storage"]["postgres"]["postgres_db"]["scheme"]
    assert values["postgresql"]["postgresqlScheme"] == scheme == "postgresql+psycopg2"


def test_dockerfile_installs_the_sql_server_driver_and_serves_the_module() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim-bookworm" in dockerfile
    assert "packages.microsoft.com" not in dockerfile and "unixodbc" not in dockerfile  # mssql-python
    assert "libltdl7 libkrb5-3 libgssapi-krb5-2" in dockerfile  # what its bundled driver loads
    assert "import mssql_python" in dockerfile
    assert "uv sync --frozen --no-dev --extra production" in dockerfile
    assert '"--module-name", "order_platform.definitions"' in dockerfile


# -- the whole instance, loaded by Dagster on a real PostgreSQL ------------------------------------------
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: test, user: {token: test}}]
contexts: [{name: test, context: {cluster: test, user: test}}]
current-context: test
"""


@pytest.fixture
def dagster_home(tmp_path: Path, postgres: Any, monkeypatch: pytest.MonkeyPatch) -> Path:
    """deploy/dagster.yaml as written, except the launcher reads a kubeconfig (no cluster here)."""
    config = load("dagster.yaml")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    config["run_launcher"]["config"].update(load_incluster_config=False, kubeconfig_file=str(kubeconfig))
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for name, value in postgres.env().items():
        monkeypatch.setenv(name, value)
    return home


def test_dagster_loads_the_production_instance(dagster_home: Path, k8s: Any, pg: Any) -> None:
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, pg.PostgresRunStorage)
        assert isinstance(instance.event_log_storage, pg.PostgresEventLogStorage)
        assert isinstance(instance.run_launcher, k8s.K8sRunLauncher)
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 8
        assert concurrency.pool_config.default_pool_limit == 1
        limits = {t["key"]: t["limit"] for t in concurrency.run_queue_config.tag_concurrency_limits}
        assert limits["dagster/backfill"] == 4


def test_operator_sets_the_database_pool_limit_with_the_cli(dagster_home: Path) -> None:
    """The README's step: `dagster instance concurrency set order_platform_database 4`."""
    subprocess.run(
        [sys.executable, "-m", "dagster", "instance", "concurrency", "set", DB_POOL, "4"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with dg.DagsterInstance.get() as instance:
        assert instance.event_log_storage.get_concurrency_info(DB_POOL).slot_count == 4
        assert DB_POOL in instance.event_log_storage.get_concurrency_keys()
