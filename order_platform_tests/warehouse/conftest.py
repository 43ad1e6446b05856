"""Fixtures: the real mssql+mssqlpython dialect (production; and mssql+pyodbc, still supported) on a
recording stand-in for the driver, and the real store on it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from order_platform.schema import OrderListSchema, order_list_schema
from order_platform.warehouse.engine import make_engine
from order_platform.warehouse.store import OrderStore
from order_platform_tests.warehouse.fake_pyodbc import Recorder, module

URLS = {
    "mssqlpython": "mssql+mssqlpython://user:secret@sqlhost:1433/orders?Encrypt=yes",
    "pyodbc": "mssql+pyodbc://user:secret@sqlhost:1433/orders?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes",
}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(params=sorted(URLS))
def engine(request: pytest.FixtureRequest, recorder: Recorder) -> sa.Engine:
    """`make_engine` as production calls it, with the DBAPI module swapped for the recorder."""
    engine = make_engine(URLS[request.param], module=module(recorder, request.param))
    with engine.connect():  # first connect: let the dialect probe the "server" before tests record
        pass
    recorder.clear()
    return engine


@pytest.fixture
def schema() -> OrderListSchema:
    return order_list_schema()


@pytest.fixture
def store(engine: sa.Engine, schema: OrderListSchema) -> OrderStore:
    return OrderStore(engine, schema)
