"""The agreement's suspension switch in PostgreSQL: one switch for every gateway process and host.

With state shared in PostgreSQL (`shared.backend: postgres`), a suspension is a row keyed by the
agency's number for the agreement, its text the reason. `ktp-gateway agreement suspend` writes
the row and notifies in one transaction; every process keeps the switch in memory through a
`Watch` (LISTEN/NOTIFY), so checking it on each request costs no round trip and a suspension
reaches every worker within milliseconds of the command's commit. A process that lost its
connection does not know the switch and refuses access until it has read it again.
"""

from __future__ import annotations

import threading

from ktp_gateway.postgres.database import CONNECT_TIMEOUT_SECONDS, Database, Watch, notify

TABLE = "ktp_gateway_suspension"
CHANNEL = "ktp_gateway_suspension"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    agreement TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    since TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""
_READ = f"SELECT reason FROM {TABLE} WHERE agreement = %s"  # noqa: S608 (constant table name)
_SUSPEND = f"""
INSERT INTO {TABLE} (agreement, reason) VALUES (%s, %s)
ON CONFLICT (agreement) DO UPDATE SET reason = EXCLUDED.reason, since = now()
"""  # noqa: S608
_RESUME = f"DELETE FROM {TABLE} WHERE agreement = %s RETURNING 1"  # noqa: S608


class SharedSwitch:
    """The suspension switch of one agreement (by the agency's number), shared in PostgreSQL."""

    def __init__(self, database: Database, agreement: str) -> None:
        self._database = database
        self._agreement = agreement
        self._watch: Watch | None = None  # started by the first read: commands only write
        self._starting = threading.Lock()  # one watch, even when two threads read first
        database.create(_SCHEMA)

    def reason(self) -> str | None:
        """The stored reason when suspended, else None; a typed error while it is unknown."""
        with self._starting:
            first = self._watch is None
            if self._watch is None:
                self._watch = self._database.watch(CHANNEL, _READ, (self._agreement,))
            watch = self._watch
        # Only the first read (at start) waits: a request never blocks on the database.
        rows = watch.rows(wait=CONNECT_TIMEOUT_SECONDS if first else 0.0)
        return str(rows[0][0]) if rows else None

    def suspend(self, reason: str) -> None:
        with self._database.session() as db:
            db.execute(_SUSPEND, (self._agreement, reason))
            notify(db, CHANNEL)

    def resume(self) -> bool:
        with self._database.session() as db:
            lifted = db.execute(_RESUME, (self._agreement,)).fetchone() is not None
            notify(db, CHANNEL)
        return lifted

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
