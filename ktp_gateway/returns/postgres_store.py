"""The shared outbox: PostgreSQL, for several gateways that deliver from one queue.

`claim` leases due rows with `FOR UPDATE SKIP LOCKED`, so concurrent gateways never lease the
same item and never wait for each other. A connection per call keeps the store thread-safe and
survives a database restart; the DSN is a secret (it may hold a password) and never logged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from ktp_gateway.errors import ErrorCode, GatewayError
from ktp_gateway.returns.store import (
    COUNTS_SQL,
    DEAD,
    OLDEST_SQL,
    PENDING,
    RESEAL_SQL,
    SEALED_SQL,
    TABLE,
    Row,
    counts_of,
    oldest_of,
    reseal_parameters,
)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    sealed BYTEA NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    lease_until DOUBLE PRECISION,
    last_error TEXT,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX IF NOT EXISTS {TABLE}_due ON {TABLE} (status, next_attempt_at);
"""
COLUMNS = (
    "id, idempotency_key, sealed, status, attempts, next_attempt_at, lease_until, last_error, "
    "created_at"
)
_LOCK_ID = 0x6B7470  # serialises concurrent schema creation by several gateways


def _row(values: Any) -> Row:
    item_id, key, sealed, status, attempts, due, lease, error, created = values
    return Row(item_id, key, bytes(sealed), status, attempts, due, lease, error, created)


class PostgresStore:
    """OutboxStore on a PostgreSQL database."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        with self._connect() as db:
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
            db.execute(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with psycopg.connect(self._dsn, connect_timeout=10) as db:
                yield db  # commits on a clean exit, rolls back on an exception
        except psycopg.Error as exc:
            # psycopg's message can quote the DSN or a parameter: keep the type only.
            raise GatewayError(
                f"return-data outbox (PostgreSQL) unavailable ({type(exc).__name__})",
                code=ErrorCode.OUTBOX_UNAVAILABLE,
            ) from None

    def add(self, row: Row, aliases: Sequence[str] = ()) -> tuple[Row, bool]:
        with self._connect() as db:
            found = db.execute(
                f"SELECT {COLUMNS} FROM {TABLE} WHERE idempotency_key = ANY(%s) "  # noqa: S608
                "ORDER BY created_at LIMIT 1",
                ([row.idempotency_key, *aliases],),
            ).fetchone()
            if found is not None:
                return _row(found), False
            cursor = db.execute(
                f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "  # noqa: S608
                "ON CONFLICT (idempotency_key) DO NOTHING",
                (
                    row.id, row.idempotency_key, row.sealed, row.status, row.attempts,
                    row.next_attempt_at, row.lease_until, row.last_error, row.created_at,
                ),
            )  # fmt: skip
            created = cursor.rowcount == 1
            found = db.execute(
                f"SELECT {COLUMNS} FROM {TABLE} WHERE idempotency_key = %s",  # noqa: S608
                (row.idempotency_key,),
            ).fetchone()
        return _row(found), created

    def sealed(self) -> list[tuple[str, bytes, str]]:
        with self._connect() as db:
            return [(i, bytes(b), k) for i, b, k in db.execute(SEALED_SQL).fetchall()]

    def reseal(self, item_id: str, was: bytes, sealed: bytes, idempotency_key: str) -> bool:
        with self._connect() as db:
            cursor = db.execute(
                RESEAL_SQL, reseal_parameters(item_id, was, sealed, idempotency_key)
            )
            return cursor.rowcount == 1

    def claim(self, now: float, limit: int, lease_seconds: float) -> list[Row]:
        with self._connect() as db:
            rows = db.execute(
                f"UPDATE {TABLE} SET lease_until = %s, attempts = attempts + 1 "  # noqa: S608
                f"WHERE id IN (SELECT id FROM {TABLE} WHERE status = %s AND next_attempt_at <= %s "
                "AND (lease_until IS NULL OR lease_until <= %s) ORDER BY next_attempt_at "
                f"LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING {COLUMNS}",
                (now + lease_seconds, PENDING, now, now, limit),
            ).fetchall()
        return sorted((_row(values) for values in rows), key=lambda row: row.next_attempt_at)

    def delivered(self, item_id: str) -> None:
        with self._connect() as db:
            db.execute(f"DELETE FROM {TABLE} WHERE id = %s", (item_id,))  # noqa: S608

    def failed(self, item_id: str, *, status: str, next_attempt_at: float, error: str) -> None:
        with self._connect() as db:
            db.execute(
                f"UPDATE {TABLE} SET status = %s, next_attempt_at = %s, lease_until = NULL, "  # noqa: S608
                "last_error = %s WHERE id = %s",
                (status, next_attempt_at, error, item_id),
            )

    def get(self, item_id: str) -> Row | None:
        with self._connect() as db:
            found = db.execute(
                f"SELECT {COLUMNS} FROM {TABLE} WHERE id = %s",  # noqa: S608
                (item_id,),
            ).fetchone()
        return _row(found) if found else None

    def list(self, status: str | None, limit: int) -> list[Row]:
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM {TABLE} WHERE (%s::text IS NULL OR status = %s) "  # noqa: S608
                "ORDER BY created_at LIMIT %s",
                (status, status, limit),
            ).fetchall()
        return [_row(values) for values in rows]

    def retry(self, item_id: str | None, now: float) -> int:
        with self._connect() as db:
            cursor = db.execute(
                f"UPDATE {TABLE} SET status = %s, attempts = 0, next_attempt_at = %s, "  # noqa: S608
                "lease_until = NULL WHERE status = %s AND (%s::text IS NULL OR id = %s)",
                (PENDING, now, DEAD, item_id, item_id),
            )
            return cursor.rowcount

    def counts(self) -> dict[str, int]:
        with self._connect() as db:
            return counts_of(db.execute(COUNTS_SQL).fetchall())

    def oldest(self) -> dict[str, float]:
        with self._connect() as db:
            return oldest_of(db.execute(OLDEST_SQL).fetchall())

    def close(self) -> None:
        """Nothing held open between calls."""
