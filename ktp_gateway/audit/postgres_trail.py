"""The trail in PostgreSQL, for several gateway processes (or hosts) writing one chain.

Each record is a row holding its canonical line (`seq`, `line`), exactly the bytes the file
trail would hold, so verification recomputes every hash and an edited row is found as an edited
line is. One more row, the head (`id` 1), holds the last record's sequence number and hash. A
batch of appends is one transaction that first locks the head row (`SELECT ... FOR UPDATE`):
writers in every process take turns there, each continues the chain from the head it locked,
and the head moves in the same commit as the records. A crash before the commit leaves neither;
after it, both (PostgreSQL's commit is durable). Retention replaces the removed rows with an
anchor row, as the file trail writes an anchor line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ktp_gateway.audit.chain import GENESIS, AuditError, Kind, Record, line_of, seal_all
from ktp_gateway.audit.store import (
    ChainedTrail,
    Head,
    StoredLine,
    anchor_line,
    plan_retention,
    stored_line,
)
from ktp_gateway.errors import ErrorCode
from ktp_gateway.postgres.database import Database

RECORDS = "ktp_gateway_audit"
HEAD = "ktp_gateway_audit_head"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {RECORDS} (seq BIGINT PRIMARY KEY, line TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {HEAD} (
    id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL
);
INSERT INTO {HEAD} (id, seq, hash) VALUES (1, 0, '{GENESIS}') ON CONFLICT (id) DO NOTHING;
"""  # noqa: S608 (constant names)
_LOCK_HEAD = f"SELECT seq, hash FROM {HEAD} WHERE id = 1 FOR UPDATE"  # noqa: S608
_INSERT = f"INSERT INTO {RECORDS} (seq, line) VALUES (%s, %s)"  # noqa: S608
_MOVE_HEAD = f"UPDATE {HEAD} SET seq = %s, hash = %s WHERE id = 1"  # noqa: S608
_LINES = f"SELECT line FROM {RECORDS} ORDER BY seq"  # noqa: S608
_HEAD = f"SELECT seq, hash FROM {HEAD} WHERE id = 1"  # noqa: S608
_DELETE_THROUGH = f"DELETE FROM {RECORDS} WHERE seq <= %s"  # noqa: S608


class PostgresTrail(ChainedTrail):
    """The `Trail` on a PostgreSQL database; safe across threads, processes and hosts."""

    def __init__(self, dsn: str) -> None:
        # One connection kept for the writer thread's batches; commands open their own.
        self._db = Database(dsn, what="audit trail", code=ErrorCode.AUDIT_UNAVAILABLE, keep=True)
        try:
            self._db.create(_SCHEMA)
        except Exception as exc:
            raise AuditError(str(exc)) from None

    def writable(self) -> bool:
        return True  # a write that fails refuses its access there (audit_unavailable)

    def append_many(
        self, entries: Sequence[tuple[Kind, Mapping[str, Any]]]
    ) -> list[Record | AuditError]:
        """Seal each entry in order and commit them together (one transaction, one flush)."""
        try:
            with self._db.session() as db:
                return self._append_in(db, entries)
        except AuditError:
            raise
        except Exception as exc:
            raise AuditError(f"the audit record could not be written ({exc})") from None

    def _append_in(
        self, db: Any, entries: Sequence[tuple[Kind, Mapping[str, Any]]], time: str | None = None
    ) -> list[Record | AuditError]:
        row = db.execute(_LOCK_HEAD).fetchone()
        seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS)
        results = seal_all(entries, seq, prev, time)
        sealed = [r for r in results if isinstance(r, Record)]
        if sealed:
            rows = [(r.seq, line_of(r).decode().rstrip("\n")) for r in sealed]
            with db.cursor() as cursor:
                cursor.executemany(_INSERT, rows)
            db.execute(_MOVE_HEAD, (sealed[-1].seq, sealed[-1].hash))
        return results

    def head(self) -> Head | None:
        """The head row (None before the first record)."""
        with self._db.session() as db:
            row = db.execute(_HEAD).fetchone()
        if row is None:
            return Head(-1, "")  # the head row was deleted: verification reports it
        return None if int(row[0]) == 0 else Head(int(row[0]), str(row[1]))

    def lines(self) -> Iterator[StoredLine]:
        """Every row in sequence order, parsed where possible (the anchor, if any, first)."""
        with self._db.session() as db:
            raws = [str(row[0]) for row in db.execute(_LINES).fetchall()]
        for number, raw in enumerate(raws, start=1):
            yield stored_line(number, raw.encode())

    def prune(self, retention_days: int, *, today: dt.date | None = None) -> int:
        """Remove records older than the retention period, leaving an anchor (one transaction)."""
        with self._db.session() as db:
            db.execute(_LOCK_HEAD)  # no append between reading the rows and replacing them
            raws = [str(row[0]) for row in db.execute(_LINES).fetchall()]
            lines = [stored_line(n, raw.encode()) for n, raw in enumerate(raws, start=1)]
            plan = plan_retention(lines, retention_days, today)
            if plan is None:
                return 0
            through = plan.anchor.after_seq
            db.execute(_DELETE_THROUGH, (through,))
            db.execute(_INSERT, (through, anchor_line(plan.anchor).decode()))
            self._append_in(db, [(Kind.RETENTION, plan.note)])
            return len(plan.old)

    def close(self) -> None:
        self._db.close()
