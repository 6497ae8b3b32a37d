"""The Dukcapil observer's Prometheus side: operations, breaker state, dropped fields."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from ktp_gateway.dukcapil_client import DukcapilClient
from ktp_gateway.observability.metrics import GatewayMetrics

from .conftest import PEOPLE, Simulator, settings_for


async def test_client_feeds_operation_breaker_and_dropped_metrics(legacy: Simulator) -> None:
    registry = CollectorRegistry()
    metrics = GatewayMetrics(registry)
    async with DukcapilClient(settings_for(legacy), observer=metrics.dukcapil_observer()) as client:
        await client.query_nik(PEOPLE["budi"].nik)
        await client.query_photo(PEOPLE["budi"].nik)
    value = registry.get_sample_value
    assert value("ktp_gateway_dukcapil_requests_total", {"operation": "nik", "outcome": "ok"}) == 1
    assert (
        value("ktp_gateway_dukcapil_requests_total", {"operation": "photo", "outcome": "ok"}) == 1
    )
    assert value("ktp_gateway_dukcapil_circuit_state", {"state": "closed"}) == 1
    assert value("ktp_gateway_dukcapil_circuit_state", {"state": "open"}) == 0
    dropped = {"operation": "nik", "field": "AGAMA"}
    assert value("ktp_gateway_dukcapil_fields_dropped_total", dropped) == 1
    labels = [s.labels for m in registry.collect() for s in m.samples]
    assert not any(PEOPLE["budi"].nik in str(label) for label in labels)
