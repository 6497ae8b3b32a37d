"""Token buckets in PostgreSQL: one rate limit however many gateway processes serve it.

Takes are batched: the takes that arrive while one statement is on its way wait for the next,
which spends them together, `n` per key, in one statement (a group take, as the audit trail
groups commits). Each row for (scope, key) is refilled by the time since it was last touched,
then grants as many of its `n` takes as it holds whole tokens, first come first served; the
row lock of `INSERT ... ON CONFLICT DO UPDATE` serialises concurrent takes of one key across
processes, and the keys of a batch are locked in sorted order, so two processes' batches never
wait on each other in a cycle. The time is the database's clock, so workers on several hosts
agree on it. Under load a statement serves many requests (one round trip each cost about 0.2 ms
of the gateway's CPU); with one caller it is one statement per take, as before. Keys are client
names, officer ids and source addresses (never population data); a bucket full again carries
nothing and is deleted now and then.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field

from ktp_gateway.postgres.database import Database, HeldConnection

TABLE = "ktp_gateway_rate_buckets"
# `took`: how many of the last statement's takes of the row were granted (`granted`, kept for a
# process of an older release sharing the table, says whether any was).
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    tokens DOUBLE PRECISION NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    granted BOOLEAN NOT NULL,
    PRIMARY KEY (scope, key)
);
ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS took INTEGER NOT NULL DEFAULT 0;
"""
_NOW = "extract(epoch FROM clock_timestamp())"
_REFILLED = f"least(%(burst)s, b.tokens + ({_NOW} - b.at) * %(rate)s)"
# The proposed row is a new key's final state: its asks, capped at the burst, all granted. On
# a conflict its `took` is that capped ask, and the row grants what its refilled tokens cover.
_GRANT = f"least(EXCLUDED.took, floor({_REFILLED}))"
_TAKE = f"""
INSERT INTO {TABLE} AS b (scope, key, tokens, at, granted, took)
SELECT %(scope)s, w.key, %(burst)s - least(w.n, floor(%(burst)s)), {_NOW},
       least(w.n, floor(%(burst)s)) >= 1, least(w.n, floor(%(burst)s))
FROM unnest(%(keys)s::text[], %(counts)s::int[]) WITH ORDINALITY AS w(key, n, i)
ORDER BY w.i
ON CONFLICT (scope, key) DO UPDATE SET
    tokens = {_REFILLED} - {_GRANT},
    granted = {_GRANT} >= 1,
    took = {_GRANT},
    at = {_NOW}
RETURNING key, took, tokens
"""  # noqa: S608 (constant table name)
_REFUND = f"""
UPDATE {TABLE} AS b SET tokens = least(%(burst)s, b.tokens + 1)
WHERE scope = %(scope)s AND key = %(key)s RETURNING tokens
"""  # noqa: S608
_PRUNE = f"""
DELETE FROM {TABLE} AS b WHERE scope = %(scope)s AND {_REFILLED} >= %(burst)s RETURNING 1
"""  # noqa: S608
PRUNE_EVERY = 1000  # takes between two sweeps of the full buckets, per process and scope


@dataclass(slots=True)
class _Batching:
    """The takes of one event loop waiting for the next statement, and who sends it."""

    loop: asyncio.AbstractEventLoop
    waiting: list[tuple[str, asyncio.Future[float]]] = field(default_factory=list)
    sender: asyncio.Task[None] | None = None


class SharedBucket:
    """`burst` requests at once, refilled at `per_minute`, per key, shared by every process."""

    def __init__(self, database: Database, scope: str, per_minute: float, burst: int) -> None:
        self.scope = scope
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._db: HeldConnection = database.held()
        self._batching: _Batching | None = None
        self._takes = 0
        self.statements = 0  # take statements sent: takes / statements is the sharing

    def _parameters(self, key: str) -> dict[str, object]:
        return {"scope": self.scope, "key": key, "rate": self.rate, "burst": self.burst}

    async def take(self, key: str) -> float:
        """Spend one token for `key`: 0 when allowed, else the seconds until one is there."""
        loop = asyncio.get_running_loop()
        batching = self._batching
        if batching is None or batching.loop is not loop:  # a bucket outlives a test's loop
            batching = self._batching = _Batching(loop)
        asked: asyncio.Future[float] = loop.create_future()
        batching.waiting.append((key, asked))
        if batching.sender is None:
            # A task of its own: a caller that goes away must not strand the others' answers.
            batching.sender = loop.create_task(self._send(batching))
        return await asked

    async def _send(self, batching: _Batching) -> None:
        """Send the waiting takes, one statement per batch, until none wait."""
        try:
            while batching.waiting:
                batch, batching.waiting = batching.waiting, []
                try:
                    waits = await self._take_all([key for key, _ in batch])
                except Exception as exc:  # typed: shared_state_unavailable
                    for _, asked in batch:
                        if not asked.done():
                            asked.set_exception(exc)
                    continue
                except BaseException:  # the loop is closing: nobody is left to answer
                    for _, asked in batch + batching.waiting:
                        asked.cancel()
                    raise
                for (_, asked), wait in zip(batch, waits, strict=True):
                    if not asked.done():  # its caller may have gone: the token is spent
                        asked.set_result(wait)
        finally:
            batching.sender = None

    async def _take_all(self, keys: list[str]) -> list[float]:
        """One statement for every take in `keys` (in order): each its wait, 0 when granted."""
        asks = Counter(keys)
        ordered = sorted(asks)  # one lock order for every process: no deadlock between batches
        parameters = {
            **self._parameters(""),
            "keys": ordered,
            "counts": [asks[key] for key in ordered],
        }
        rows = await self._db.fetchall(_TAKE, parameters)
        self.statements += 1
        before = self._takes
        self._takes += len(keys)
        if self._takes // PRUNE_EVERY > before // PRUNE_EVERY:
            await self._db.fetchone(_PRUNE, self._parameters(""))
        granted = {str(key): int(took) for key, took, _ in rows}
        waits = {str(key): max(0.0, (1 - float(tokens)) / self.rate) for key, _, tokens in rows}
        answers: list[float] = []
        for key in keys:  # first come, first served within a key
            if granted[key] > 0:
                granted[key] -= 1
                answers.append(0.0)
            else:
                answers.append(waits[key])
        return answers

    async def refund(self, key: str) -> None:
        """Give back the token `take` spent (the check it paid for went well)."""
        await self._db.fetchone(_REFUND, self._parameters(key))

    async def aclose(self) -> None:
        await self._db.aclose()


def create_tables(database: Database) -> None:
    """The buckets' table, if missing (and the column this release adds, if missing)."""
    database.create(_SCHEMA)
