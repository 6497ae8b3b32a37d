"""Outbox items and their owners at the store: a table made before owners gains the columns at
start, its items keep working (delivered, listed and retried by an operator), and an owner sees
only its own."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from ktp_gateway.returns.sealing import Payload, Sealer
from ktp_gateway.returns.sqlite_store import SqliteStore
from ktp_gateway.returns.store import DEAD, PENDING, TABLE, Row

# The table as the first release made it (no owner, no officer).
OLD_SCHEMA = f"""
CREATE TABLE {TABLE} (
    id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, sealed BLOB NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL,
    lease_until REAL, last_error TEXT, created_at REAL NOT NULL
);
"""
BUDI = "3171011505809901"  # synthetic


def _old_database(path: Path, sealer: Sealer) -> str:
    payload = Payload(BUDI, "REG-LAMA/2026/1", "SK-LAMA/1")
    item_id = "a" * 32
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        db.execute(
            f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, 0, ?, NULL, NULL, ?)",  # noqa: S608
            (
                item_id, sealer.idempotency_key(payload), sealer.seal(item_id, payload), DEAD,
                time.time(), time.time(),
            ),
        )  # fmt: skip
    return item_id


def test_an_old_table_gains_owner_columns_and_its_items_stay_an_operators(tmp_path: Path) -> None:
    sealer = Sealer(os.urandom(32))
    path = tmp_path / "outbox.sqlite3"
    legacy = _old_database(path, sealer)
    store = SqliteStore(path)
    row = store.get(legacy)
    assert row is not None and (row.owner, row.officer) == (None, None)
    assert sealer.open(legacy, row.sealed).nik == BUDI  # still opens: delivered as before
    assert [r.id for r in store.list(None, 10)] == [legacy]  # an operator lists it
    assert store.list(None, 10, owner="lpsk-case-app") == []  # a client does not
    assert store.retry(legacy, time.time(), owner="lpsk-case-app") == 0
    assert store.retry(legacy, time.time()) == 1  # the operator revives it
    SqliteStore(path)  # a second start finds the columns there: nothing to add


def test_a_client_sees_and_counts_only_its_own(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "outbox.sqlite3")
    now = time.time()
    for n, owner in enumerate(("lpsk-case-app", "lpsk-intake", "lpsk-intake")):
        store.add(
            Row(f"{n:032x}", f"key-{n}", b"x", PENDING, 0, now, None, None, now, owner, "P-1")
        )
    assert store.counts("lpsk-case-app") == {PENDING: 1, DEAD: 0}
    assert store.counts() == {PENDING: 3, DEAD: 0}
    assert [r.owner for r in store.list(None, 10, owner="lpsk-intake")] == ["lpsk-intake"] * 2
    assert store.get(f"{0:032x}", owner="lpsk-intake") is None
    assert store.get(f"{0:032x}", owner="lpsk-case-app") is not None


def test_the_idempotency_key_is_per_owner_and_unchanged_without_one() -> None:
    sealer = Sealer(os.urandom(32))
    plain = Payload(BUDI, "REG-1", "SK-1")
    mine = Payload(BUDI, "REG-1", "SK-1", owner="lpsk-case-app")
    theirs = Payload(BUDI, "REG-1", "SK-1", owner="lpsk-intake")
    keys = {sealer.idempotency_key(p) for p in (plain, mine, theirs)}
    assert len(keys) == 3
    opened = sealer.open("b" * 32, sealer.seal("b" * 32, mine))
    assert opened.owner == "lpsk-case-app" and sealer.idempotency_key(
        opened
    ) == sealer.idempotency_key(mine)
