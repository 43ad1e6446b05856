"""The `production` extra imports: pyodbc (needs the unixODBC library), dagster-postgres, dagster-k8s."""

from __future__ import annotations

import importlib.metadata

import pytest

from order_platform.warehouse.engine import make_engine

README_URL = "mssql+pyodbc://user:pass@host:1433/db?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes"


def require_production_extra(distribution: str) -> None:
    try:
        importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{distribution} is not installed: the `production` extra is missing (uv sync --all-extras)")


def test_pyodbc_imports() -> None:
    require_production_extra("pyodbc")
    try:
        import pyodbc
    except ImportError as exc:  # libodbc.so.2 missing: the system package, not the wheel
        pytest.fail(f"pyodbc is installed but cannot load unixODBC ({exc}); run scripts/install_system_deps.sh")
    assert pyodbc.version
    assert callable(pyodbc.drivers)


def test_dagster_deployment_packages_import() -> None:
    require_production_extra("dagster-postgres")
    require_production_extra("dagster-k8s")
    from dagster_k8s import K8sRunLauncher
    from dagster_postgres import DagsterPostgresStorage

    assert "instance_config_map" in K8sRunLauncher.config_type()
    assert "postgres_db" in DagsterPostgresStorage.config_type()


def test_readme_sql_server_url_makes_a_pyodbc_engine() -> None:
    """The URL form the README documents: real pyodbc dialect, ODBC connection string, no connection made."""
    require_production_extra("pyodbc")
    pytest.importorskip("pyodbc", reason="unixODBC missing: run scripts/install_system_deps.sh")
    engine = make_engine(README_URL)
    assert engine.dialect.name == "mssql" and engine.dialect.driver == "pyodbc"
    assert engine.dialect.fast_executemany is True
    (connection_string,), _ = engine.dialect.create_connect_args(engine.url)
    parts = dict(p.split("=", 1) for p in connection_string.split(";"))
    assert parts["DRIVER"] == "{ODBC Driver 18 for SQL Server}"
    assert parts["Server"] == "host,1433"
    assert parts["Database"] == "db"
    assert parts["UID"] == "user" and parts["PWD"] == "pass"
    assert parts["Encrypt"] == "yes"
