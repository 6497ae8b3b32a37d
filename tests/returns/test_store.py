"""The outbox store contract, on SQLite and on a real PostgreSQL server alike."""

from __future__ import annotations

import threading

from ktp_gateway.returns.store import DEAD, PENDING, OutboxStore, Row


def row(n: int, *, due: float = 0.0) -> Row:
    return Row(f"id{n}", f"key{n}", b"\x01sealed", PENDING, 0, due, None, None, float(n))


def test_add_is_idempotent_by_key(store: OutboxStore) -> None:
    first, created = store.add(row(1))
    twin, again = store.add(Row("other", "key1", b"x", PENDING, 0, 0.0, None, None, 9.0))
    assert created and not again
    assert twin.id == first.id == "id1" and twin.sealed == b"\x01sealed"
    assert store.counts() == {PENDING: 1, DEAD: 0}


def test_claim_leases_due_items_once_and_counts_the_attempt(store: OutboxStore) -> None:
    store.add(row(1, due=10))
    store.add(row(2, due=20))
    store.add(row(3, due=99))
    claimed = store.claim(now=50, limit=10, lease_seconds=5)
    assert [r.id for r in claimed] == ["id1", "id2"]
    assert all(r.attempts == 1 and r.lease_until == 55 for r in claimed)
    assert store.claim(now=51, limit=10, lease_seconds=5) == []  # leased
    assert (store.leased(now=51), store.leased(now=55), store.counts()[PENDING]) == (2, 0, 3)
    again = store.claim(now=56, limit=10, lease_seconds=5)  # the lease ran out (a dead gateway)
    assert [r.id for r in again] == ["id1", "id2"] and again[0].attempts == 2


def test_claim_respects_the_limit(store: OutboxStore) -> None:
    for n in range(5):
        store.add(row(n, due=n))
    assert [r.id for r in store.claim(now=10, limit=2, lease_seconds=5)] == ["id0", "id1"]


def test_failed_reschedules_or_dead_letters_and_retry_revives(store: OutboxStore) -> None:
    store.add(row(1))
    store.add(row(2))
    store.claim(now=1, limit=10, lease_seconds=5)
    store.failed("id1", status=PENDING, next_attempt_at=30, error="dukcapil_timeout")
    store.failed("id2", status=DEAD, next_attempt_at=1, error="dukcapil_auth_failed")
    one, two = store.get("id1"), store.get("id2")
    assert one is not None and one.lease_until is None and one.next_attempt_at == 30
    assert two is not None and two.status == DEAD and two.last_error == "dukcapil_auth_failed"
    assert [r.id for r in store.list(DEAD, 10)] == ["id2"]
    assert store.claim(now=100, limit=10, lease_seconds=5)[0].id == "id1"  # dead is not due
    assert store.retry("id1", now=5) == 0  # not dead
    assert store.retry("id2", now=5) == 1
    revived = store.get("id2")
    assert revived is not None and revived.status == PENDING and revived.attempts == 0


def test_retry_all_and_delete_on_delivery(store: OutboxStore) -> None:
    for n in range(3):
        store.add(row(n))
        store.failed(f"id{n}", status=DEAD, next_attempt_at=0, error="x")
    assert store.retry(None, now=1) == 3
    store.delivered("id0")
    assert store.get("id0") is None
    assert store.counts() == {PENDING: 2, DEAD: 0}


def test_concurrent_claims_never_share_an_item(store: OutboxStore) -> None:
    # Several gateways on one outbox: every item is leased by exactly one of them.
    for n in range(60):
        store.add(row(n))
    seen: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        while batch := store.claim(now=1, limit=3, lease_seconds=60):
            with lock:
                seen.extend(r.id for r in batch)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == sorted(f"id{n}" for n in range(60))
