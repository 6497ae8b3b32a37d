"""Outbox metrics: deliveries by outcome; items by status and the oldest item's age, read from the
store at scrape time (a creation time and a status only: never an item id or a NIK).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ktp_gateway.observability.namespace import NS

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric


Counts = Callable[[], dict[str, int]]
Oldest = Callable[[], dict[str, float]]


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            f"{NS}_return_data_items", "Return-data outbox items by status", labels=["status"]
        ),
        GaugeMetricFamily(
            f"{NS}_return_data_oldest_item_timestamp_seconds",
            "When the oldest outbox item of each status was queued (Unix time; none: no item)",
            labels=["status"],
        ),
        GaugeMetricFamily(f"{NS}_return_data_outbox_up", "1 when the outbox store answered"),
    )


class OutboxCollector(Collector):
    """Pending and dead items, counted in the store at each scrape (shared by all gateways)."""

    def __init__(self, counts: Counts, oldest: Oldest | None = None) -> None:
        self._counts = counts
        self._oldest = oldest

    def describe(self) -> Iterable[Metric]:
        return list(_families())

    def collect(self) -> Iterator[Metric]:
        items, oldest, up = _families()
        try:
            counts = self._counts()
            created = self._oldest() if self._oldest is not None else {}
        except Exception:  # a scrape must never fail because the database is down
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for status, count in sorted(counts.items()):
            items.add_metric([status], count)
        for status, when in sorted(created.items()):
            oldest.add_metric([status], when)
        yield from (items, oldest, up)


class OutboxMetrics:
    """The outbox's observer on the gateway's registry."""

    def __init__(
        self, registry: CollectorRegistry, counts: Counts, oldest: Oldest | None = None
    ) -> None:
        self.deliveries = Counter(
            f"{NS}_return_data_deliveries",
            "Return-data delivery attempts by outcome (accepted, already_sent, failed, dead)",
            ["outcome"],
            registry=registry,
        )
        registry.register(OutboxCollector(counts, oldest))

    def on_delivery(self, outcome: str) -> None:
        """One attempt ended with `outcome`."""
        self.deliveries.labels(outcome=outcome).inc()
