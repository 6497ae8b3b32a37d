"""The outbox's storage contract, shared by the SQLite and PostgreSQL stores.

A row holds only what the return call needs, sealed (sealing.py), plus delivery bookkeeping.
"Delivering" is not a status but a lease: `claim` sets `lease_until`, and a gateway that dies
mid-delivery leaves a lease that simply runs out, after which any gateway claims the item again.
Attempts are counted at claim time, so an item that crashes the process cannot loop forever.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ktp_gateway.returns.settings import Backend, ReturnDataSettings

TABLE = "ktp_gateway_return_outbox"
PENDING, DEAD = "pending", "dead"
# The read-only summaries, the same SQL on both backends (no parameters, so no paramstyle).
COUNTS_SQL = f"SELECT status, COUNT(*) FROM {TABLE} GROUP BY status"  # noqa: S608
OLDEST_SQL = f"SELECT status, MIN(created_at) FROM {TABLE} GROUP BY status"  # noqa: S608


# `reseal`'s statement, both backends (%s placeholders; SQLite's store swaps them for ?).
RESEAL_SQL = (
    f"UPDATE {TABLE} SET sealed = %s, idempotency_key = CASE WHEN EXISTS "  # noqa: S608
    f"(SELECT 1 FROM {TABLE} AS other WHERE other.idempotency_key = %s AND other.id <> %s) "
    "THEN idempotency_key ELSE %s END WHERE id = %s AND sealed = %s"
)
SEALED_SQL = f"SELECT id, sealed, idempotency_key FROM {TABLE} ORDER BY created_at"  # noqa: S608


def reseal_parameters(
    item_id: str, was: bytes, sealed: bytes, idempotency_key: str
) -> tuple[object, ...]:
    """`RESEAL_SQL`'s parameters, in order."""
    return (sealed, idempotency_key, item_id, idempotency_key, item_id, was)


def counts_of(rows: Iterable[Any]) -> dict[str, int]:
    """`COUNTS_SQL`'s rows as `OutboxStore.counts` answers them: every status, zero if none."""
    return {PENDING: 0, DEAD: 0, **{status: int(count) for status, count in rows}}


def oldest_of(rows: Iterable[Any]) -> dict[str, float]:
    """`OLDEST_SQL`'s rows as `OutboxStore.oldest` answers them."""
    return {status: float(created) for status, created in rows}


@dataclass(frozen=True, slots=True)
class Row:
    """One stored item (times are Unix seconds)."""

    id: str
    idempotency_key: str
    sealed: bytes
    status: str
    attempts: int
    next_attempt_at: float
    lease_until: float | None
    last_error: str | None
    created_at: float


class OutboxStore(Protocol):
    """Blocking storage calls; the outbox runs them in a worker thread."""

    def add(self, row: Row, aliases: Sequence[str] = ()) -> tuple[Row, bool]:
        """Insert unless the idempotency key (or an alias: the same item's key under a previous
        sealing key) exists; the stored row and whether it is new."""
        ...

    def sealed(self) -> list[tuple[str, bytes, str]]:
        """Every item's (id, sealed payload, idempotency key), for a key rotation."""
        ...

    def reseal(self, item_id: str, was: bytes, sealed: bytes, idempotency_key: str) -> bool:
        """Replace an item's sealed payload in one statement if it is still `was`; the
        idempotency key too unless another item holds it. False if the item changed or left."""
        ...

    def claim(self, now: float, limit: int, lease_seconds: float) -> list[Row]:
        """Lease up to `limit` due pending items (attempts + 1), oldest due first."""
        ...

    def delivered(self, item_id: str) -> None:
        """Dukcapil holds the item: delete it."""
        ...

    def failed(self, item_id: str, *, status: str, next_attempt_at: float, error: str) -> None:
        """An attempt failed: schedule the next one (or dead-letter) and free the lease."""
        ...

    def get(self, item_id: str) -> Row | None: ...

    def list(self, status: str | None, limit: int) -> list[Row]: ...

    def retry(self, item_id: str | None, now: float) -> int:
        """Dead item(s) back to pending with fresh attempts: one id, or every dead item."""
        ...

    def counts(self) -> dict[str, int]:
        """Items by status (pending, dead)."""
        ...

    def oldest(self) -> dict[str, float]:
        """When the oldest item of each status was queued (Unix seconds); empty statuses absent."""
        ...

    def close(self) -> None: ...


def open_store(settings: ReturnDataSettings) -> OutboxStore:
    """The configured store, its table created if missing."""
    if settings.backend is Backend.POSTGRES:
        from ktp_gateway.returns.postgres_store import PostgresStore

        assert settings.postgres_dsn is not None  # noqa: S101 (settings require it)
        return PostgresStore(settings.postgres_dsn.get_secret_value())
    from ktp_gateway.returns.sqlite_store import SqliteStore

    return SqliteStore(settings.sqlite_path)
