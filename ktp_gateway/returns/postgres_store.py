"""The shared outbox: PostgreSQL, for several gateways that deliver from one queue.

`claim` leases due rows with `FOR UPDATE SKIP LOCKED`, so concurrent gateways never lease the
same item and never wait for each other. A connection per call keeps the store thread-safe and
survives a database restart; the DSN is a secret (it may hold a password) and never logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ktp_gateway.errors import ErrorCode
from ktp_gateway.postgres.database import Database
from ktp_gateway.returns.sql_store import Session, SqlStore


class PostgresDialect:
    """PostgreSQL's column types, connection and row locks."""

    blob, real = "BYTEA", "DOUBLE PRECISION"
    claim_lock = " FOR UPDATE SKIP LOCKED"  # concurrent claims pass each other's rows by
    add_column = "ADD COLUMN IF NOT EXISTS"  # two gateways upgrading at once both succeed

    def __init__(self, dsn: str) -> None:
        self._db = Database(dsn, what="return-data outbox", code=ErrorCode.OUTBOX_UNAVAILABLE)

    def create(self, schema: str) -> None:
        self._db.create(schema)

    @contextmanager
    def session(self, *, write: bool) -> Iterator[Session]:
        # Row locks, not a table lock, keep writers apart here: `write` needs nothing more.
        with self._db.session() as db:
            yield db


class PostgresStore(SqlStore):
    """OutboxStore on a PostgreSQL database."""

    def __init__(self, dsn: str) -> None:
        super().__init__(PostgresDialect(dsn))
