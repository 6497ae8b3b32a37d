"""What the gateway needs of an audit trail, and the one it is configured with.

Two trails keep the same chain: the files in `audit.dir` (one host; the default) and PostgreSQL
(`shared.backend: postgres`, when several gateway processes or hosts serve one agreement).
Verification, the semester report and retention work on either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from ktp_gateway.audit.chain import AuditError, Kind, Record
from ktp_gateway.audit.store import AuditTrail, Head, StoredLine


class Trail(Protocol):
    """An append-only, hash-chained trail."""

    def append(self, kind: Kind, data: Mapping[str, Any]) -> Record: ...

    def append_many(
        self, entries: Sequence[tuple[Kind, Mapping[str, Any]]]
    ) -> list[Record | AuditError]: ...

    def lines(self) -> Iterator[StoredLine]: ...

    def records(self) -> Iterator[Record]: ...

    def head(self) -> Head | None: ...

    def prune(self, retention_days: int, *, today: dt.date | None = None) -> int: ...

    def writable(self) -> bool:
        """False when a write is known to fail before trying (an unwritable directory)."""
        ...


def open_trail(directory: Path, *, fsync: bool = True, postgres_dsn: str | None = None) -> Trail:
    """PostgreSQL's trail when a DSN is given (psycopg only then), else the files."""
    if postgres_dsn is not None:
        from ktp_gateway.audit.postgres_trail import PostgresTrail

        return PostgresTrail(postgres_dsn)
    return AuditTrail(directory, fsync=fsync)
