"""Outbox metrics: deliveries by outcome, and items by status read from the store at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ktp_gateway.metrics import NS

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            f"{NS}_return_data_items", "Return-data outbox items by status", labels=["status"]
        ),
        GaugeMetricFamily(f"{NS}_return_data_outbox_up", "1 when the outbox store answered"),
    )


class OutboxCollector(Collector):
    """Pending and dead items, counted in the store at each scrape (shared by all gateways)."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    def describe(self) -> Iterable[Metric]:
        return list(_families())

    def collect(self) -> Iterator[Metric]:
        items, up = _families()
        try:
            counts = self._counts()
        except Exception:  # a scrape must never fail because the database is down
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for status, count in sorted(counts.items()):
            items.add_metric([status], count)
        yield from (items, up)


class OutboxMetrics:
    """The outbox's observer on the gateway's registry."""

    def __init__(self, registry: CollectorRegistry, counts: Callable[[], dict[str, int]]) -> None:
        self.deliveries = Counter(
            f"{NS}_return_data_deliveries",
            "Return-data delivery attempts by outcome (accepted, already_sent, failed, dead)",
            ["outcome"],
            registry=registry,
        )
        registry.register(OutboxCollector(counts))

    def on_delivery(self, outcome: str) -> None:
        """One attempt ended with `outcome`."""
        self.deliveries.labels(outcome=outcome).inc()
