"""The embedded outbox: one SQLite file (WAL, synchronous=FULL), a connection per call.

`claim` runs in a `BEGIN IMMEDIATE` transaction, so two processes on the same file never lease
the same item. The file is created readable by its owner only.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

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
    sealed BLOB NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    lease_until REAL,
    last_error TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS {TABLE}_due ON {TABLE} (status, next_attempt_at);
"""
COLUMNS = (
    "id, idempotency_key, sealed, status, attempts, next_attempt_at, lease_until, last_error, "
    "created_at"
)


def _row(values: tuple[object, ...]) -> Row:
    return Row(*values)  # type: ignore[arg-type]


class SqliteStore:
    """OutboxStore on a local SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise _unavailable(exc) from None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as db:
                db.execute("PRAGMA synchronous=FULL")
                db.execute("PRAGMA busy_timeout=30000")
                yield db
        except sqlite3.Error as exc:
            raise _unavailable(exc) from None

    def add(self, row: Row, aliases: Sequence[str] = ()) -> tuple[Row, bool]:
        keys = (row.idempotency_key, *aliases)
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # no other writer between the look-up and the insert
            try:
                found = db.execute(
                    f"SELECT {COLUMNS} FROM {TABLE} WHERE idempotency_key IN "  # noqa: S608
                    f"({', '.join('?' * len(keys))}) ORDER BY created_at LIMIT 1",
                    keys,
                ).fetchone()
                if found is None:
                    db.execute(
                        f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                        (
                            row.id, row.idempotency_key, row.sealed, row.status, row.attempts,
                            row.next_attempt_at, row.lease_until, row.last_error, row.created_at,
                        ),
                    )  # fmt: skip
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return (row, True) if found is None else (_row(found), False)

    def sealed(self) -> list[tuple[str, bytes, str]]:
        with self._connect() as db:
            return [(i, bytes(b), k) for i, b, k in db.execute(SEALED_SQL).fetchall()]

    def reseal(self, item_id: str, was: bytes, sealed: bytes, idempotency_key: str) -> bool:
        with self._connect() as db:
            cursor = db.execute(
                RESEAL_SQL.replace("%s", "?"),
                reseal_parameters(item_id, was, sealed, idempotency_key),
            )
            return cursor.rowcount == 1

    def claim(self, now: float, limit: int, lease_seconds: float) -> list[Row]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                due = db.execute(
                    f"SELECT id FROM {TABLE} WHERE status = ? AND next_attempt_at <= ? "  # noqa: S608
                    "AND (lease_until IS NULL OR lease_until <= ?) "
                    "ORDER BY next_attempt_at LIMIT ?",
                    (PENDING, now, now, limit),
                ).fetchall()
                ids = [item_id for (item_id,) in due]
                marks = ", ".join("?" * len(ids))
                rows = []
                if ids:
                    db.execute(
                        f"UPDATE {TABLE} SET lease_until = ?, attempts = attempts + 1 "  # noqa: S608
                        f"WHERE id IN ({marks})",
                        (now + lease_seconds, *ids),
                    )
                    rows = db.execute(
                        f"SELECT {COLUMNS} FROM {TABLE} WHERE id IN ({marks}) "  # noqa: S608
                        "ORDER BY next_attempt_at",
                        ids,
                    ).fetchall()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return [_row(values) for values in rows]

    def delivered(self, item_id: str) -> None:
        with self._connect() as db:
            db.execute(f"DELETE FROM {TABLE} WHERE id = ?", (item_id,))  # noqa: S608

    def failed(self, item_id: str, *, status: str, next_attempt_at: float, error: str) -> None:
        with self._connect() as db:
            db.execute(
                f"UPDATE {TABLE} SET status = ?, next_attempt_at = ?, lease_until = NULL, "  # noqa: S608
                "last_error = ? WHERE id = ?",
                (status, next_attempt_at, error, item_id),
            )

    def get(self, item_id: str) -> Row | None:
        with self._connect() as db:
            found = db.execute(
                f"SELECT {COLUMNS} FROM {TABLE} WHERE id = ?",  # noqa: S608
                (item_id,),
            ).fetchone()
        return _row(found) if found else None

    def list(self, status: str | None, limit: int) -> list[Row]:
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {COLUMNS} FROM {TABLE} WHERE (? IS NULL OR status = ?) "  # noqa: S608
                "ORDER BY created_at LIMIT ?",
                (status, status, limit),
            ).fetchall()
        return [_row(values) for values in rows]

    def retry(self, item_id: str | None, now: float) -> int:
        with self._connect() as db:
            cursor = db.execute(
                f"UPDATE {TABLE} SET status = ?, attempts = 0, next_attempt_at = ?, "  # noqa: S608
                "lease_until = NULL WHERE status = ? AND (? IS NULL OR id = ?)",
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


def _unavailable(exc: BaseException) -> GatewayError:
    return GatewayError(
        f"return-data outbox (SQLite) unavailable ({type(exc).__name__})",
        code=ErrorCode.OUTBOX_UNAVAILABLE,
    )
