from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from stand_ins.graph_server import FakeGraph, FakeIdentity, self_signed_cert

TENANT = "contoso-tenant"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "cs~Sup3rSecretValue_DoNotLog"
REPO_ROOT = Path(__file__).resolve().parents[2]
AZURITE_DIR = REPO_ROOT / ".cache" / "azurite"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class StaticToken:
    def __init__(self, token: str = "static-test-token") -> None:
        self.token = token
        self.calls = 0

    def get_token(self) -> str:
        self.calls += 1
        return self.token


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def identity(tls_cert: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIdentity]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_cert[0]))  # trust the test server's certificate
    server = FakeIdentity(*tls_cert, tenant=TENANT, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    yield server
    server.server.close()


@pytest.fixture
def static_token() -> StaticToken:
    return StaticToken()


@pytest.fixture
def graph(static_token: StaticToken, identity: FakeIdentity) -> Iterator[FakeGraph]:
    fake = FakeGraph(lambda: {static_token.token} | identity.issued_tokens)
    yield fake
    fake.close()


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{tmp_path / 'platform.db'}")


# -- Azurite ------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Azurite blob service; yields its connection string. Installs Azurite once into .cache."""
    binary = AZURITE_DIR / "node_modules" / ".bin" / "azurite-blob"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed, so Azurite (the Azure Blob emulator) cannot be installed")
        AZURITE_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--prefix", str(AZURITE_DIR), "--no-audit", "--no-fund", "azurite@3"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0 or not binary.exists():
            pytest.fail(f"npm install azurite@3 into {AZURITE_DIR} failed:\n{done.stderr[-3000:]}")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("azurite")
    stderr_path = workdir / "azurite.stderr"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [
                str(binary),
                "--silent",
                "--inMemoryPersistence",
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(port),
                "--skipApiVersionCheck",
            ],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Azurite did not start: {stderr_path.read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
