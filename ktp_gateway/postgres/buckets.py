"""Token buckets in PostgreSQL: one rate limit however many gateway processes serve it.

A take is one statement: the row for (scope, key) is refilled by the time since it was last
touched, then spends a token if it holds one. The row lock of `INSERT ... ON CONFLICT DO
UPDATE` serialises concurrent takes of one key across processes; the time is the database's
clock, so workers on several hosts agree on it. Keys are client names, officer ids and source
addresses (never population data); a bucket full again carries nothing and is deleted now and
then.
"""

from __future__ import annotations

import itertools

from ktp_gateway.postgres.database import Database, HeldConnection

TABLE = "ktp_gateway_rate_buckets"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    tokens DOUBLE PRECISION NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    granted BOOLEAN NOT NULL,
    PRIMARY KEY (scope, key)
)
"""
_NOW = "extract(epoch FROM clock_timestamp())"
_REFILLED = f"least(%(burst)s, b.tokens + ({_NOW} - b.at) * %(rate)s)"
# RETURNING sees the new row: `granted` says whether this take got its token.
_TAKE = f"""
INSERT INTO {TABLE} AS b (scope, key, tokens, at, granted)
VALUES (%(scope)s, %(key)s, %(burst)s - 1, {_NOW}, TRUE)
ON CONFLICT (scope, key) DO UPDATE SET
    tokens = CASE WHEN {_REFILLED} >= 1 THEN {_REFILLED} - 1 ELSE {_REFILLED} END,
    granted = {_REFILLED} >= 1,
    at = {_NOW}
RETURNING granted, tokens
"""  # noqa: S608 (constant table name)
_REFUND = f"""
UPDATE {TABLE} AS b SET tokens = least(%(burst)s, b.tokens + 1)
WHERE scope = %(scope)s AND key = %(key)s RETURNING tokens
"""  # noqa: S608
_PRUNE = f"""
DELETE FROM {TABLE} AS b WHERE scope = %(scope)s AND {_REFILLED} >= %(burst)s RETURNING 1
"""  # noqa: S608
PRUNE_EVERY = 1000  # takes between two sweeps of the full buckets, per process and scope


class SharedBucket:
    """`burst` requests at once, refilled at `per_minute`, per key, shared by every process."""

    def __init__(self, database: Database, scope: str, per_minute: float, burst: int) -> None:
        self.scope = scope
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._db: HeldConnection = database.held()
        self._takes = itertools.count(1)

    def _parameters(self, key: str) -> dict[str, object]:
        return {"scope": self.scope, "key": key, "rate": self.rate, "burst": self.burst}

    async def take(self, key: str) -> float:
        """Spend one token for `key`: 0 when allowed, else the seconds until one is there."""
        row = await self._db.fetchone(_TAKE, self._parameters(key))
        if next(self._takes) % PRUNE_EVERY == 0:
            await self._db.fetchone(_PRUNE, self._parameters(key))
        assert row is not None  # noqa: S101 (an upsert returns its row)
        granted, tokens = row
        return 0.0 if granted else (1 - float(tokens)) / self.rate

    async def refund(self, key: str) -> None:
        """Give back the token `take` spent (the check it paid for went well)."""
        await self._db.fetchone(_REFUND, self._parameters(key))

    async def aclose(self) -> None:
        await self._db.aclose()


def create_tables(database: Database) -> None:
    """The buckets' table, if missing."""
    database.create(_SCHEMA)
