"""What the simulated return-data store received: each item once, every repeat counted.

Dukcapil answers a repeat of data it already holds with `Data sudah pernah dikirim` (notes), so an
item is identified by its content (NIK and parameters). Tests read the ledger through
`GET /_simulator/returns` to prove that each item reached Dukcapil exactly once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LedgerItem:
    """One distinct item: its content, how often it arrived, and its idempotency keys seen."""

    nik: str
    param: dict[str, str]
    id_lembaga: str
    received: int = 0
    accepted: int = 0
    idempotency_keys: set[str] = field(default_factory=set)

    def as_json(self) -> dict[str, Any]:
        return {
            "nik": self.nik,
            "param": self.param,
            "id_lembaga": self.id_lembaga,
            "received": self.received,
            "accepted": self.accepted,
            "idempotency_keys": sorted(self.idempotency_keys),
        }


@dataclass
class ReturnLedger:
    """Every return-data item the simulator accepted, keyed by content (one event loop: no lock)."""

    items: dict[str, LedgerItem] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0

    def record(
        self, nik: str, param: dict[str, str], id_lembaga: str, idempotency_key: str | None
    ) -> bool:
        """Count an arriving item; True when it is new (accepted), False for a repeat."""
        key = "|".join([nik, *(f"{k}={v}" for k, v in sorted(param.items()))])
        item = self.items.setdefault(key, LedgerItem(nik, dict(param), id_lembaga))
        item.received += 1
        if idempotency_key:
            item.idempotency_keys.add(idempotency_key)
        if item.accepted:
            return False
        item.accepted = 1
        return True

    def stats(self) -> dict[str, Any]:
        """Counts only (no NIK): safe in the general stats."""
        return {
            "items": len(self.items),
            "received": sum(item.received for item in self.items.values()),
            "outcomes": dict(self.outcomes),
            "in_flight": self.in_flight,
        }

    def as_json(self) -> dict[str, Any]:
        """Everything received (synthetic data only), for tests to assert on."""
        return {**self.stats(), "records": [item.as_json() for item in self.items.values()]}
