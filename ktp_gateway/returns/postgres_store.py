"""The shared outbox: PostgreSQL, for several gateways that deliver from one queue.

`claim` leases due rows with `FOR UPDATE SKIP LOCKED`, so concurrent gateways never lease the
same item and never wait for each other. A connection per call keeps the store thread-safe and
survives a database restart; the DSN is a secret (it may hold a password) and never logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from ktp_gateway.errors import ErrorCode, GatewayError
from ktp_gateway.returns.sql_store import SqlStore

_LOCK_ID = 0x6B7470  # serialises concurrent schema creation by several gateways


class PostgresDialect:
    """PostgreSQL's column types, connection and row locks."""

    blob, real = "BYTEA", "DOUBLE PRECISION"
    claim_lock = " FOR UPDATE SKIP LOCKED"  # concurrent claims pass each other's rows by
    add_column = "ADD COLUMN IF NOT EXISTS"  # two gateways upgrading at once both succeed

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn

    def create(self, schema: str) -> None:
        with self.session(write=True) as db:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            db.execute(schema)

    @contextmanager
    def session(self, *, write: bool) -> Iterator[psycopg.Connection[Any]]:
        # Row locks, not a table lock, keep writers apart here: `write` needs nothing more.
        try:
            with psycopg.connect(self._dsn, connect_timeout=10) as db:
                yield db  # commits on a clean exit, rolls back on an exception
        except psycopg.Error as exc:
            # psycopg's message can quote the DSN or a parameter: keep the type only.
            raise GatewayError(
                f"return-data outbox (PostgreSQL) unavailable ({type(exc).__name__})",
                code=ErrorCode.OUTBOX_UNAVAILABLE,
            ) from None


class PostgresStore(SqlStore):
    """OutboxStore on a PostgreSQL database."""

    def __init__(self, dsn: str) -> None:
        super().__init__(PostgresDialect(dsn))
