"""Rotating the outbox's sealing key: what each queued item needs, and re-sealing (rekey).

After the settings name a new current key and keep the old one among the previous keys, every
item still opens (sealing.py). `rekey` then re-seals each item under the current key, and its
idempotency key with it, one statement per item that only applies if the item is unchanged
(compare-and-set on the sealed bytes): a crash leaves each item either as it was (opens with the
previous key) or re-sealed (opens with the current one), never half-written. Once `usage` counts
nothing under a previous key, the previous key can be removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from ktp_gateway.errors import ConfigurationError
from ktp_gateway.returns.sealing import Payload, Sealer
from ktp_gateway.returns.store import OutboxStore

log = structlog.get_logger("ktp_gateway.returns")


@dataclass(frozen=True, slots=True)
class KeyUsage:
    """How many queued items open with the current key, with a previous one, with none."""

    current: int = 0
    previous: int = 0
    unopenable: int = 0


@dataclass(frozen=True, slots=True)
class RekeyResult:
    """What `rekey` did: items re-sealed, already current, left because no key opens them,
    and gone meanwhile (delivered or changed by a gateway while the rekey ran)."""

    resealed: int = 0
    current: int = 0
    unopenable: int = 0
    gone: int = 0


def usage(store: OutboxStore, sealer: Sealer) -> KeyUsage:
    """Which key each queued item needs (counts only)."""
    counts = [0, 0, 0]
    for item_id, sealed, _ in store.sealed():
        counts[_which(sealer, item_id, sealed)] += 1
    return KeyUsage(*counts)


def _which(sealer: Sealer, item_id: str, sealed: bytes) -> int:
    try:
        return min(sealer.open_indexed(item_id, sealed)[1], 1)
    except ConfigurationError:
        return 2


def rekey(store: OutboxStore, sealer: Sealer) -> RekeyResult:
    """Re-seal every item still under a previous key under the current key."""
    counts = {"resealed": 0, "current": 0, "unopenable": 0, "gone": 0}
    for item_id, sealed, idempotency_key in store.sealed():
        counts[_rekey_one(store, sealer, item_id, sealed, idempotency_key)] += 1
    result = RekeyResult(**counts)
    log.info("returns.rekey", key_id=sealer.key_id, **counts)
    return result


def _rekey_one(
    store: OutboxStore, sealer: Sealer, item_id: str, sealed: bytes, idempotency_key: str
) -> str:
    try:
        payload, index = sealer.open_indexed(item_id, sealed)
    except ConfigurationError:
        return "unopenable"
    if index == 0:
        return "current"
    fresh = sealer.seal(item_id, payload)
    new_key = _new_key(sealer, payload, index, idempotency_key)
    changed = store.reseal(item_id, sealed, fresh, new_key)
    return "resealed" if changed else "gone"


def _new_key(sealer: Sealer, payload: Payload, index: int, old: str) -> str:
    """The item's idempotency key under the current key, when it can be derived again.

    Items of the first sealed format do not hold the caller's Idempotency-Key: if theirs was
    derived from it (not from the content), it is kept as it is.
    """
    if payload.caller_key or old == sealer.mac_under(index, payload):
        return sealer.mac_under(0, payload)
    return old
