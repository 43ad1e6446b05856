"""Fixtures: a strict fake monday.com over real HTTP, a SQLite state DB, and fast retry knobs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from order_platform.monday import MondayClient, MondaySettings, load_board_config
from order_platform.monday.mapping import BoardConfig, Retry
from order_platform.warehouse.engine import make_engine
from stand_ins.monday_server import FakeMondayServer

TOKEN = "test-token-do-not-log"


@pytest.fixture
def config() -> BoardConfig:
    base = load_board_config()
    fast_retry = Retry(
        max_attempts=6,
        backoff_base_seconds=0.01,
        backoff_max_seconds=0.05,
        jitter_fraction=0.5,
        timeout_seconds=5,
        max_rate_limit_waits=50,
        abort_after_consecutive_failures=10,
    )
    return base.with_knobs(retry=fast_retry)


@pytest.fixture
def make_server(config: BoardConfig) -> Iterator[Callable[..., FakeMondayServer]]:
    servers: list[FakeMondayServer] = []

    def factory(**knobs: Any) -> FakeMondayServer:
        knobs.setdefault("budget", 1_000_000_000)
        server = FakeMondayServer(token=TOKEN, **knobs).start()
        server.fake.seed_from_config(config)
        servers.append(server)
        return server

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., FakeMondayServer]) -> FakeMondayServer:
    return make_server()


@pytest.fixture
def engine(tmp_path) -> sa.Engine:
    return make_engine(f"sqlite:///{tmp_path / 'state.db'}")


def settings_for(server: FakeMondayServer) -> MondaySettings:
    return MondaySettings(api_token=TOKEN, api_url=server.url, board_id=None, api_version=None)


@pytest.fixture
def make_client(config: BoardConfig) -> Iterator[Callable[..., MondayClient]]:
    clients: list[MondayClient] = []

    def factory(server: FakeMondayServer, cfg: BoardConfig | None = None, **kwargs: Any) -> MondayClient:
        client = MondayClient.from_settings(settings_for(server), cfg or config, **kwargs)
        assert client is not None
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()
