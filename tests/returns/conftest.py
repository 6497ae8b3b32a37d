"""Fixtures: sealing keys, outbox settings, each backend (PostgreSQL: tests/conftest.py)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ktp_gateway.returns.backends import open_store
from ktp_gateway.returns.settings import Backend, ReturnDataSettings
from ktp_gateway.returns.store import TABLE, OutboxStore
from tests.postgres import PostgresServer

KEY = base64.b64encode(bytes(range(32))).decode()


def outbox_settings(backend: str, where: str, **overrides: object) -> ReturnDataSettings:
    values: dict[str, object] = {
        "enabled": True,
        "backend": backend,
        "encryption_key": KEY,
        "backoff_base_seconds": 0.05,
        "backoff_max_seconds": 0.2,
        "lease_seconds": 5,
        "poll_seconds": 0.05,
        "max_attempts": 3,
    }
    if backend == Backend.SQLITE:
        values["sqlite_path"] = where
    else:
        values["postgres_dsn"] = where
    values.update(overrides)
    return ReturnDataSettings.model_validate(values)


@pytest.fixture(params=["sqlite", "postgres"])
def backend_settings(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[ReturnDataSettings]:
    """Outbox settings for each backend, on an empty store."""
    if request.param == "sqlite":
        yield outbox_settings("sqlite", str(tmp_path / "outbox.sqlite3"))
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    with psycopg.connect(server.dsn, autocommit=True) as db:
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
    yield outbox_settings("postgres", server.dsn)


@pytest.fixture
def store(backend_settings: ReturnDataSettings) -> Iterator[OutboxStore]:
    opened = open_store(backend_settings)
    yield opened
    opened.close()


def env_key() -> dict[str, str]:
    return {"KTP_GATEWAY_RETURN_DATA__ENCRYPTION_KEY": KEY, **dict(os.environ)}
