"""The outbox's SQL, written once for SQLite and PostgreSQL; a `Dialect` says what differs.

Statements use `%s` placeholders (the dialect rewrites them for SQLite) and portable SQL:
`CAST(%s AS TEXT)` for a nullable parameter, `ON CONFLICT ... DO NOTHING`, and `UPDATE ...
RETURNING` for the claim (SQLite >= 3.35). What differs is the column types, how a connection
opens and holds a write transaction, and how the claim keeps two gateways off the same row:
PostgreSQL's `FOR UPDATE SKIP LOCKED`, SQLite's one writer under `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ktp_gateway.returns.store import DEAD, PENDING, TABLE, Row

COLUMNS = (
    "id, idempotency_key, sealed, status, attempts, next_attempt_at, lease_until, last_error, "
    "created_at, owner, officer"
)
# Added after the first release: a table made before them gains them at start (ALTER TABLE);
# its items keep owner NULL, which only an operator lists (docs/return-data.md).
_LATER_COLUMNS = ("owner", "officer")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    sealed {{blob}} NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {{real}} NOT NULL,
    lease_until {{real}},
    last_error TEXT,
    created_at {{real}} NOT NULL,
    owner TEXT,
    officer TEXT
);
CREATE INDEX IF NOT EXISTS {TABLE}_due ON {TABLE} (status, next_attempt_at);
"""
_SELECT = f"SELECT {COLUMNS} FROM {TABLE}"  # noqa: S608
_INSERT = (
    f"INSERT INTO {TABLE} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "  # noqa: S608
    "ON CONFLICT (idempotency_key) DO NOTHING"
)
_CLAIM = (
    f"UPDATE {TABLE} SET lease_until = %s, attempts = attempts + 1 "  # noqa: S608
    f"WHERE id IN (SELECT id FROM {TABLE} WHERE status = %s AND next_attempt_at <= %s "
    "AND (lease_until IS NULL OR lease_until <= %s) ORDER BY next_attempt_at "
    f"LIMIT %s{{lock}}) RETURNING {COLUMNS}"
)
_RESEAL = (
    f"UPDATE {TABLE} SET sealed = %s, idempotency_key = CASE WHEN EXISTS "  # noqa: S608
    f"(SELECT 1 FROM {TABLE} AS other WHERE other.idempotency_key = %s AND other.id <> %s) "
    "THEN idempotency_key ELSE %s END WHERE id = %s AND sealed = %s"
)
_FAILED = (
    f"UPDATE {TABLE} SET status = %s, next_attempt_at = %s, lease_until = NULL, "  # noqa: S608
    "last_error = %s WHERE id = %s"
)
_OWNED = "(CAST(%s AS TEXT) IS NULL OR owner = %s)"  # one client's items, or all (an operator)
_RETRY = (
    f"UPDATE {TABLE} SET status = %s, attempts = 0, next_attempt_at = %s, "  # noqa: S608
    f"lease_until = NULL WHERE status = %s AND (CAST(%s AS TEXT) IS NULL OR id = %s) AND {_OWNED}"
)
_LIST = (
    f"{_SELECT} WHERE (CAST(%s AS TEXT) IS NULL OR status = %s) AND {_OWNED} "
    "ORDER BY created_at LIMIT %s"
)
_GET = f"{_SELECT} WHERE id = %s AND {_OWNED}"
_COUNTS = f"SELECT status, COUNT(*) FROM {TABLE} WHERE {_OWNED} GROUP BY status"  # noqa: S608
_LEASED = f"SELECT COUNT(*) FROM {TABLE} WHERE status = %s AND lease_until > %s AND {_OWNED}"  # noqa: S608
_OLDEST = f"SELECT status, MIN(created_at) FROM {TABLE} GROUP BY status"  # noqa: S608
_SEALED = f"SELECT id, sealed, idempotency_key FROM {TABLE} ORDER BY created_at"  # noqa: S608


class Cursor(Protocol):
    """The part of a DB-API cursor the store uses (sqlite3 and psycopg both have it)."""

    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Session(Protocol):
    """One connection inside one transaction."""

    def execute(self, sql: str, parameters: Sequence[object] = (), /) -> Cursor: ...


class Dialect(Protocol):
    """What differs between the SQL engines the outbox runs on."""

    blob: str  # the column type of the sealed payload
    real: str  # the column type of the Unix-seconds times
    claim_lock: str  # appended to the claim's sub-select
    add_column: str  # how ALTER TABLE adds a column (PostgreSQL: only if it is missing)

    def create(self, schema: str) -> None:
        """Create the table and its index if missing (once, even with several gateways)."""
        ...

    def session(self, *, write: bool) -> AbstractContextManager[Session]:
        """A connection in one transaction (`write`: take the write lock from the start);
        committed on a clean exit, rolled back otherwise; errors as outbox_unavailable."""
        ...


def _row(values: Sequence[Any]) -> Row:
    item_id, key, sealed, status, attempts, due, lease, error, created, owner, officer = values
    return Row(
        item_id, key, bytes(sealed), status, attempts, due, lease, error, created, owner, officer
    )


class SqlStore:
    """OutboxStore on any `Dialect`: every statement written once."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        dialect.create(_SCHEMA.format(blob=dialect.blob, real=dialect.real))
        self._upgrade()

    def _upgrade(self) -> None:
        """Add the columns a table made by an older release lacks (in one write transaction)."""
        with self.dialect.session(write=True) as db:
            cursor = db.execute(f"SELECT * FROM {TABLE} LIMIT 0")  # noqa: S608
            present = {column[0] for column in cursor.description}
            for column in _LATER_COLUMNS:
                if column not in present:
                    db.execute(f"ALTER TABLE {TABLE} {self.dialect.add_column} {column} TEXT")

    def _write(self, sql: str, parameters: Sequence[object]) -> int:
        with self.dialect.session(write=True) as db:
            return db.execute(sql, parameters).rowcount

    def add(self, row: Row, aliases: Sequence[str] = ()) -> tuple[Row, bool]:
        keys = (row.idempotency_key, *aliases)
        marks = ", ".join(["%s"] * len(keys))
        with self.dialect.session(write=True) as db:
            found = db.execute(
                f"{_SELECT} WHERE idempotency_key IN ({marks}) ORDER BY created_at LIMIT 1", keys
            ).fetchone()
            if found is not None:
                return _row(found), False
            created = db.execute(_INSERT, _values(row)).rowcount == 1
            stored = db.execute(f"{_SELECT} WHERE idempotency_key = %s", (row.idempotency_key,))
            return _row(stored.fetchone()), created

    def sealed(self) -> list[tuple[str, bytes, str]]:
        with self.dialect.session(write=False) as db:
            return [(i, bytes(b), k) for i, b, k in db.execute(_SEALED).fetchall()]

    def reseal(self, item_id: str, was: bytes, sealed: bytes, idempotency_key: str) -> bool:
        values = (sealed, idempotency_key, item_id, idempotency_key, item_id, was)
        return self._write(_RESEAL, values) == 1

    def claim(self, now: float, limit: int, lease_seconds: float) -> list[Row]:
        claim = _CLAIM.format(lock=self.dialect.claim_lock)
        with self.dialect.session(write=True) as db:
            rows = db.execute(claim, (now + lease_seconds, PENDING, now, now, limit)).fetchall()
        return sorted((_row(values) for values in rows), key=lambda row: row.next_attempt_at)

    def delivered(self, item_id: str) -> None:
        self._write(f"DELETE FROM {TABLE} WHERE id = %s", (item_id,))  # noqa: S608

    def failed(self, item_id: str, *, status: str, next_attempt_at: float, error: str) -> None:
        self._write(_FAILED, (status, next_attempt_at, error, item_id))

    def get(self, item_id: str, owner: str | None = None) -> Row | None:
        with self.dialect.session(write=False) as db:
            found = db.execute(_GET, (item_id, owner, owner)).fetchone()
        return _row(found) if found else None

    def list(self, status: str | None, limit: int, owner: str | None = None) -> list[Row]:
        with self.dialect.session(write=False) as db:
            rows = db.execute(_LIST, (status, status, owner, owner, limit)).fetchall()
        return [_row(values) for values in rows]

    def retry(self, item_id: str | None, now: float, owner: str | None = None) -> int:
        return self._write(_RETRY, (PENDING, now, DEAD, item_id, item_id, owner, owner))

    def counts(self, owner: str | None = None) -> dict[str, int]:
        with self.dialect.session(write=False) as db:
            rows = db.execute(_COUNTS, (owner, owner)).fetchall()
        return {PENDING: 0, DEAD: 0, **{status: int(count) for status, count in rows}}

    def leased(self, now: float, owner: str | None = None) -> int:
        with self.dialect.session(write=False) as db:
            row = db.execute(_LEASED, (PENDING, now, owner, owner)).fetchone()
        return int(row[0]) if row else 0

    def oldest(self) -> dict[str, float]:
        with self.dialect.session(write=False) as db:
            rows = db.execute(_OLDEST).fetchall()
        return {status: float(created) for status, created in rows}

    def close(self) -> None:
        """Nothing held open between calls."""


def _values(row: Row) -> tuple[object, ...]:
    return (
        row.id, row.idempotency_key, row.sealed, row.status, row.attempts,
        row.next_attempt_at, row.lease_until, row.last_error, row.created_at, row.owner,
        row.officer,
    )  # fmt: skip
