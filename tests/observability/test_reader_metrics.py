from __future__ import annotations

from prometheus_client import CollectorRegistry

from ktp_gateway.observability.metrics import GatewayMetrics, sw_class
from ktp_gateway.reader.monitor import ReaderMonitor


def test_status_word_classes_are_bounded() -> None:
    assert [sw_class(sw) for sw in (0x9000, 0x6110, 0x6C08, 0x6282, 0x6300, 0x6A82, 0x9100)] == [
        "9000", "61xx", "6Cxx", "warning", "warning", "error", "other",
    ]  # fmt: skip


def test_monitor_health_is_scraped() -> None:
    registry = CollectorRegistry()
    metrics = GatewayMetrics(registry)
    monitor = ReaderMonitor()  # never started: not up, no resets
    metrics.watch_monitor(monitor)
    assert registry.get_sample_value("ktp_gateway_reader_monitor_up") == 0
    assert registry.get_sample_value("ktp_gateway_pcsc_context_resets_total") == 0


def test_reader_errors_count_by_reader_and_code() -> None:
    registry = CollectorRegistry()
    GatewayMetrics(registry).reader_error("Virtual PCD 00 00", "card_removed")
    labels = {"reader": "Virtual PCD 00 00", "code": "card_removed"}
    assert registry.get_sample_value("ktp_gateway_reader_errors_total", labels) == 1
