"""Fixtures shared by the PostgreSQL-state tests that run a gateway process."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from ktp_gateway.audit.postgres_trail import HEAD, RECORDS
from ktp_gateway.postgres.buckets import TABLE as BUCKETS
from ktp_gateway.postgres.suspension import TABLE as SUSPENSION
from tests.dukcapil.conftest import Simulator, start_simulator
from tests.postgres import PostgresServer

# Every table a gateway's shared state and outbox keep: each test starts without them.
SHARED_TABLES = (RECORDS, HEAD, BUCKETS, SUSPENSION, "ktp_gateway_return_outbox")


@pytest.fixture
def dsn(postgres: PostgresServer) -> str:
    """The session's server, emptied of the gateway's tables (they are made again at start)."""
    with psycopg.connect(postgres.dsn, autocommit=True) as db:
        db.execute(f"DROP TABLE IF EXISTS {', '.join(SHARED_TABLES)}")  # type: ignore[arg-type]
    return postgres.dsn


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    """A Dukcapil simulator process of the test's own."""
    sim = start_simulator()
    yield sim
    sim.stop()
