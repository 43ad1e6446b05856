"""A throwaway PostgreSQL server (the local `initdb`/`pg_ctl`) for loading the production instance."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _keep_urllib3_logging() -> Iterator[None]:
    """The kubernetes client (dagster-k8s) sets the urllib3 logger to WARNING whenever it builds a
    configuration; put it back so tests elsewhere that read urllib3's debug lines are unaffected."""
    logger = logging.getLogger("urllib3")
    level = logger.level
    yield
    logger.setLevel(level)


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    db: str

    def env(self) -> dict[str, str]:
        return {
            "DAGSTER_PG_HOST": self.host,
            "DAGSTER_PG_PORT": str(self.port),
            "DAGSTER_PG_USERNAME": self.user,
            "DAGSTER_PG_PASSWORD": self.password,
            "DAGSTER_PG_DB": self.db,
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    debian_bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    search = os.pathsep.join([os.environ.get("PATH", ""), *map(str, debian_bins)])
    initdb, pg_ctl = shutil.which("initdb", path=search), shutil.which("pg_ctl", path=search)
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    prefix: list[str] = []
    # Not under pytest's (root-only) temp folder: the server's account must reach it.
    root = Path(tempfile.mkdtemp(prefix="order_platform_pg_"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use its own account
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run PostgreSQL as")
        os.chown(root, account.pw_uid, account.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    pw_file = root / "pw"
    pw_file.write_text("dagster-test-password\n")
    if prefix:
        os.chown(pw_file, pwd.getpwnam("postgres").pw_uid, -1)

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=60, check=False)
        if done.returncode:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr or done.stdout}")

    run(initdb, "-D", str(data), "-U", "dagster", "-A", "scram-sha-256", f"--pwfile={pw_file}")
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off"
    run(pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    try:
        yield Postgres("127.0.0.1", port, "dagster", "dagster-test-password", "postgres")
    finally:
        run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
