"""The outbox's scrape-time gauges: items by status and when the oldest of each was queued."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from ktp_gateway.returns.metrics import OutboxMetrics
from ktp_gateway.returns.sqlite_store import SqliteStore
from ktp_gateway.returns.store import DEAD, PENDING, OutboxStore, Row

OLDEST = "ktp_gateway_return_data_oldest_item_timestamp_seconds"


def row(n: int, created: float) -> Row:
    return Row(f"id{n}", f"key{n}", b"\x01sealed", PENDING, 0, 0.0, None, None, created)


def test_oldest_is_the_earliest_creation_time_per_status(store: OutboxStore) -> None:
    assert store.oldest() == {}
    for n, created in enumerate((300.0, 100.0, 200.0, 50.0)):
        store.add(row(n, created))
    store.failed("id3", status=DEAD, next_attempt_at=0, error="dukcapil_auth_failed")
    assert store.oldest() == {PENDING: 100.0, DEAD: 50.0}
    store.delivered("id1")
    assert store.oldest() == {PENDING: 200.0, DEAD: 50.0}


def test_the_gauges_follow_the_store_at_each_scrape(tmp_path: Path) -> None:
    registry, store = CollectorRegistry(), SqliteStore(tmp_path / "outbox.sqlite3")
    OutboxMetrics(registry, store.counts, store.oldest)
    assert registry.get_sample_value(OLDEST, {"status": PENDING}) is None  # empty: no series
    store.add(row(1, 1_700_000_000.0))
    assert registry.get_sample_value(OLDEST, {"status": PENDING}) == 1_700_000_000.0
    assert registry.get_sample_value("ktp_gateway_return_data_items", {"status": PENDING}) == 1
    exposition = generate_latest(registry).decode()
    assert "id1" not in exposition and "key1" not in exposition  # never an item's id or key


def test_a_store_that_fails_reports_down_and_no_age() -> None:
    def broken() -> dict[str, float]:
        raise OSError("database gone")

    registry = CollectorRegistry()
    OutboxMetrics(registry, lambda: {PENDING: 0, DEAD: 0}, broken)
    assert registry.get_sample_value("ktp_gateway_return_data_outbox_up") == 0
    assert registry.get_sample_value(OLDEST, {"status": PENDING}) is None
