"""The `production` extra imports on a machine with nothing but Python: mssql-python (Microsoft's SQL
Server driver, its ODBC driver inside the wheel), dagster-postgres, dagster-k8s. No unixODBC needed."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest

from order_platform.warehouse.engine import make_engine

README_URL = "mssql+mssqlpython://user:pass@host:1433/db?Encrypt=yes"


def require_production_extra(distribution: str) -> None:
    try:
        importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{distribution} is not installed: the `production` extra is missing (uv sync --all-extras)")


def test_the_sql_server_driver_loads_no_system_odbc_library() -> None:
    """Import the driver and build the production engine in a fresh interpreter, then list the shared
    libraries it mapped: unixODBC's libodbc.so.2 (what a fresh machine lacks) must not be among them.
    The ODBC pieces the driver needs come from its own wheel."""
    require_production_extra("mssql-python")
    probe = (
        "import json, mssql_python\n"
        "from order_platform.warehouse.engine import make_engine\n"
        f"engine = make_engine({README_URL!r})\n"
        "engine.dialect.loaded_dbapi\n"
        "maps = {l.split()[-1] for l in open('/proc/self/maps') if '.so' in l}\n"
        "print(json.dumps(sorted(maps)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    mapped = json.loads(done.stdout.strip().splitlines()[-1])
    assert not [m for m in mapped if Path(m).name.startswith("libodbc.so")], mapped
    # Nor anything else a fresh machine lacks: the bundled driver (and the libltdl/Kerberos libraries it
    # needs, installed in the image) loads only when connecting to a server.
    system = ("libltdl", "libkrb5", "libgssapi", "libmsodbcsql")
    assert not [m for m in mapped if Path(m).name.startswith(system)], mapped


def test_the_driver_wheel_carries_its_odbc_driver() -> None:
    require_production_extra("mssql-python")
    files = [str(f) for f in importlib.metadata.files("mssql-python-odbc") or []]
    assert any("libmsodbcsql" in f for f in files)  # no apt repository, no msodbcsql18 package


def test_dagster_deployment_packages_import() -> None:
    require_production_extra("dagster-postgres")
    require_production_extra("dagster-k8s")
    from dagster_k8s import K8sRunLauncher
    from dagster_postgres import DagsterPostgresStorage

    assert "instance_config_map" in K8sRunLauncher.config_type()
    assert "postgres_db" in DagsterPostgresStorage.config_type()


def test_readme_sql_server_url_makes_an_mssql_python_engine() -> None:
    """The URL form the README documents: real mssql-python dialect, connection string, no connection made."""
    require_production_extra("mssql-python")
    engine = make_engine(README_URL)
    assert engine.dialect.name == "mssql" and engine.dialect.driver == "mssqlpython"
    assert engine.dialect.paramstyle == "qmark" and engine.dialect.deprecate_large_types is True
    (connection_string,), _ = engine.dialect.create_connect_args(engine.url)
    parts = dict(p.split("=", 1) for p in connection_string.split(";"))
    assert parts["Server"] == "host,1433"
    assert parts["Database"] == "db"
    assert parts["UID"] == "user" and parts["PWD"] == "pass"
    assert parts["Encrypt"] == "yes"
