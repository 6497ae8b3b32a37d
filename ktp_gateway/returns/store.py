"""The outbox's storage contract: what sql_store.py implements on SQLite and on PostgreSQL.

A row holds only what the return call needs, sealed (sealing.py), plus delivery bookkeeping.
"Delivering" is not a status but a lease: `claim` sets `lease_until`, and a gateway that dies
mid-delivery leaves a lease that simply runs out, after which any gateway claims the item again.
Attempts are counted at claim time, so an item that crashes the process cannot loop forever.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

TABLE = "ktp_gateway_return_outbox"
PENDING, DEAD = "pending", "dead"


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
    owner: str | None = None  # the client application that queued it; None: before owners
    officer: str | None = None  # the officer who asked (an id, never personal data)


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

    # `owner`: only that client's items (an operator passes None: every item).
    def get(self, item_id: str, owner: str | None = None) -> Row | None: ...

    def list(self, status: str | None, limit: int, owner: str | None = None) -> list[Row]: ...

    def retry(self, item_id: str | None, now: float, owner: str | None = None) -> int:
        """Dead item(s) back to pending with fresh attempts: one id, or every dead item."""
        ...

    def counts(self, owner: str | None = None) -> dict[str, int]:
        """Items by status (pending, dead)."""
        ...

    def leased(self, now: float, owner: str | None = None) -> int:
        """Pending items a gateway is sending at `now` (their lease runs)."""
        ...

    def oldest(self) -> dict[str, float]:
        """When the oldest item of each status was queued (Unix seconds); empty statuses absent."""
        ...

    def close(self) -> None: ...
