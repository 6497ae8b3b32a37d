"""The embedded outbox: one SQLite file (WAL, synchronous=FULL), a connection per call.

Writes run in `BEGIN IMMEDIATE` transactions, so two processes on the same file never lease the
same item (SQLite has one writer at a time). The file is created readable by its owner only.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from ktp_gateway.errors import ErrorCode, GatewayError
from ktp_gateway.returns.sql_store import Cursor, SqlStore


class _Session:
    """A sqlite3 connection taking the store's `%s` placeholders."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, parameters: Sequence[object] = (), /) -> Cursor:
        return self._db.execute(sql.replace("%s", "?"), parameters)


class SqliteDialect:
    """SQLite's column types, connection and write lock."""

    blob, real, claim_lock = "BLOB", "REAL", ""  # one writer: nothing to skip
    add_column = "ADD COLUMN"  # the check and the change share one BEGIN IMMEDIATE

    def __init__(self, path: Path) -> None:
        self.path = path

    def create(self, schema: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(schema)
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

    @contextmanager
    def session(self, *, write: bool) -> Iterator[_Session]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield _Session(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")


class SqliteStore(SqlStore):
    """OutboxStore on a local SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(SqliteDialect(path))


def _unavailable(exc: BaseException) -> GatewayError:
    return GatewayError(
        f"return-data outbox (SQLite) unavailable ({type(exc).__name__})",
        code=ErrorCode.OUTBOX_UNAVAILABLE,
    )
