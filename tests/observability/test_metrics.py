from __future__ import annotations

import re
from dataclasses import replace

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from ktp_gateway import __version__
from ktp_gateway.domain import PersonData
from ktp_gateway.observability.metrics import GatewayMetrics, ReaderStateCollector
from ktp_gateway.reader.card.tap import CardReading
from ktp_gateway.reader.service import ReaderState
from ktp_gateway.reader.smartcard.connection import TrafficStats

NIK = "3171011505809901"  # a synthetic person's NIK (simulators/data/synthetic_people.yaml)
READER = "Virtual PCD 00 00"


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def metrics(registry: CollectorRegistry) -> GatewayMetrics:
    return GatewayMetrics(registry)


def _reading(seconds: float = 0.8) -> CardReading:
    return CardReading(
        reader=READER,
        person=PersonData(nik=NIK, nama_lengkap="BUDI CONTOH"),
        photo=b"\xff\xd8",
        signature_verified=True,
        card_traffic=TrafficStats(apdus=12),
        sam_traffic=TrafficStats(apdus=7),
        seconds=seconds,
    )


def test_build_info_names_the_version(registry: CollectorRegistry, metrics: GatewayMetrics) -> None:
    assert registry.get_sample_value("ktp_gateway_build_info", {"version": __version__}) == 1


def test_a_card_read_counts_the_read_its_duration_and_apdus_per_device(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    metrics.card_read(_reading(0.8))
    value = registry.get_sample_value
    assert value("ktp_gateway_card_reads_total", {"reader": READER, "outcome": "ok"}) == 1
    assert value("ktp_gateway_card_read_duration_seconds_count", {"reader": READER}) == 1
    assert value("ktp_gateway_card_read_duration_seconds_sum", {"reader": READER}) == 0.8
    bucket = {"reader": READER, "le": "1.0"}
    assert value("ktp_gateway_card_read_duration_seconds_bucket", bucket) == 1
    assert value("ktp_gateway_apdus_total", {"reader": READER, "device": "card"}) == 12
    assert value("ktp_gateway_apdus_total", {"reader": READER, "device": "sam"}) == 7


def test_each_apdu_is_observed_by_device_and_instruction_and_counted_by_status_class(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    card = [(0xB0, 0x9000, 0.001)] * 3 + [(0xA4, 0x6A82, 0.002), (0xB0, 0x6282, 0.004)]
    sam = [(0x2A, 0x6110, 0.003), (0xC0, 0x9000, 0.001)]
    reading = replace(
        _reading(),
        card_traffic=TrafficStats(apdus=len(card), samples=card),
        sam_traffic=TrafficStats(apdus=len(sam), samples=sam),
    )
    metrics.card_read(reading)
    metrics.card_read(reading)  # the kept children add up
    value = registry.get_sample_value
    seconds = "ktp_gateway_apdu_duration_seconds"
    assert value(f"{seconds}_count", {"device": "card", "ins": "B0"}) == 8
    assert value(f"{seconds}_sum", {"device": "card", "ins": "A4"}) == pytest.approx(0.004)
    assert value(f"{seconds}_count", {"device": "sam", "ins": "2A"}) == 2
    assert value(f"{seconds}_count", {"device": "sam", "ins": "C0"}) == 2
    words = "ktp_gateway_status_words_total"
    assert value(words, {"device": "card", "class": "9000"}) == 6
    assert value(words, {"device": "card", "class": "error"}) == 2
    assert value(words, {"device": "card", "class": "warning"}) == 2
    assert value(words, {"device": "sam", "class": "61xx"}) == 2
    assert value(words, {"device": "sam", "class": "9000"}) == 2


def test_only_a_tap_that_opened_the_sam_counts_a_sam_open(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    metrics.card_read(replace(_reading(), sam_opened=True))
    metrics.card_read(_reading())  # through the SAM held open since
    metrics.card_read(_reading())
    assert registry.get_sample_value("ktp_gateway_sam_opens_total", {"reader": READER}) == 1
    assert (
        registry.get_sample_value(
            "ktp_gateway_card_reads_total", {"reader": READER, "outcome": "ok"}
        )
        == 3
    )


def test_card_read_buckets_cover_ten_milliseconds_to_fifteen_seconds(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    metrics.card_read(_reading())  # labelled series appear on first use
    buckets = {
        float(sample.labels["le"])
        for family in registry.collect()
        if family.name == "ktp_gateway_card_read_duration_seconds"
        for sample in family.samples
        if sample.name.endswith("_bucket")
    }
    assert min(buckets) == 0.01 and 15 in buckets


def test_the_dukcapil_observer_feeds_requests_latency_and_quota(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    observer = metrics.dukcapil_observer()
    observer.on_request("ok", 0.2)
    observer.on_request("dukcapil_timeout", 5.0)
    observer.on_quota(4321)
    value = registry.get_sample_value
    ok = {"operation": "nik", "outcome": "ok"}
    assert value("ktp_gateway_dukcapil_requests_total", ok) == 1
    timeout = {"operation": "nik", "outcome": "dukcapil_timeout"}
    assert value("ktp_gateway_dukcapil_requests_total", timeout) == 1
    latency = {"operation": "nik"}
    assert value("ktp_gateway_dukcapil_request_duration_seconds_count", latency) == 2
    assert value("ktp_gateway_dukcapil_quota_remaining") == 4321


def test_verifications_and_http_requests_are_counted_by_bounded_labels(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    metrics.verification(outcome="match", code="")
    metrics.verification(outcome="error", code="card_not_genuine")
    metrics.http_request("POST", "/v1/verifications", 200, 1.2)
    value = registry.get_sample_value
    assert value("ktp_gateway_verifications_total", {"outcome": "match", "code": ""}) == 1
    error = {"outcome": "error", "code": "card_not_genuine"}
    assert value("ktp_gateway_verifications_total", error) == 1
    http = {"method": "POST", "route": "/v1/verifications", "status": "200"}
    assert value("ktp_gateway_http_requests_total", http) == 1


def test_reader_state_is_read_at_scrape_time(registry: CollectorRegistry) -> None:
    states = [ReaderState(READER, card_present=False, sam_state="absent")]
    registry.register(ReaderStateCollector(lambda: states))
    value = registry.get_sample_value
    assert value("ktp_gateway_reader_card_present", {"reader": READER}) == 0
    states[0] = ReaderState(READER, card_present=True, sam_state="open", attached=True)
    assert value("ktp_gateway_pcsc_up") == 1
    assert value("ktp_gateway_reader_attached", {"reader": READER}) == 1
    assert value("ktp_gateway_reader_card_present", {"reader": READER}) == 1
    sam = {
        state: value("ktp_gateway_sam_state", {"reader": READER, "state": state})
        for state in ("absent", "present", "open", "error")
    }
    assert sam == {"absent": 0, "present": 0, "open": 1, "error": 0}


def test_an_unknown_sam_state_is_reported_as_error(registry: CollectorRegistry) -> None:
    state = ReaderState(READER, card_present=False, sam_state="locked")
    registry.register(ReaderStateCollector(lambda: [state]))
    labels = {"reader": READER, "state": "error"}
    assert registry.get_sample_value("ktp_gateway_sam_state", labels) == 1


def test_a_scrape_survives_pcsc_being_down(registry: CollectorRegistry) -> None:
    def broken() -> list[ReaderState]:
        raise OSError("pcscd is not running")

    registry.register(ReaderStateCollector(broken))
    assert registry.get_sample_value("ktp_gateway_pcsc_up") == 0
    assert b"ktp_gateway_pcsc_up 0.0" in generate_latest(registry)


def test_a_second_reader_state_collector_is_refused(registry: CollectorRegistry) -> None:
    registry.register(ReaderStateCollector(list))
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        registry.register(ReaderStateCollector(list))


def test_metric_names_follow_the_conventions(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    registry.register(ReaderStateCollector(list))
    for family in registry.collect():
        assert family.name.startswith("ktp_gateway_")
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples)


def test_no_label_value_looks_like_a_nik_after_recording(
    registry: CollectorRegistry, metrics: GatewayMetrics
) -> None:
    registry.register(
        ReaderStateCollector(lambda: [ReaderState(READER, card_present=True, sam_state="open")])
    )
    metrics.card_read(_reading())
    metrics.verification(outcome="mismatch", code="")
    metrics.http_request("POST", "/v1/nik-lookups", 404, 0.1)
    observer = metrics.dukcapil_observer()
    observer.on_request("dukcapil_not_found", 0.3)
    observer.on_quota(10)
    values = [
        value
        for family in registry.collect()
        for sample in family.samples
        for value in sample.labels.values()
    ]
    assert values  # the scrape carried labelled series
    assert not [v for v in values if re.search(r"\d{16}", v)]
    assert NIK.encode() not in generate_latest(registry)


def test_integrated_readers_are_reported_while_pcscd_is_down(registry: CollectorRegistry) -> None:
    def broken() -> list[ReaderState]:
        raise OSError("pcscd is not running")

    serial = ReaderState("len442ektpreader SN-UJICOBA-0001", True, "present")
    registry.register(ReaderStateCollector(broken, lambda: [serial]))
    assert registry.get_sample_value("ktp_gateway_pcsc_up") == 0
    labels = {"reader": serial.reader}
    assert registry.get_sample_value("ktp_gateway_reader_card_present", labels) == 1


def test_cached_children_count_into_the_same_series_as_labels() -> None:
    registry = CollectorRegistry()
    metrics = GatewayMetrics(registry)
    dukcapil = metrics.dukcapil_observer()
    for _ in range(3):
        metrics.http_request("POST", "/v1/nik-lookups", 200, 0.01)
        dukcapil.on_dropped("nik", "NO_KK")
        dukcapil.on_request("ok", 0.002)
    metrics.http_request("POST", "/v1/nik-lookups", 429, 0.001)
    text = generate_latest(registry).decode()
    assert 'route="/v1/nik-lookups",status="200"} 3.0' in text
    assert 'route="/v1/nik-lookups",status="429"} 1.0' in text
    assert 'ktp_gateway_dukcapil_fields_dropped_total{field="NO_KK",operation="nik"} 3.0' in text
    assert 'ktp_gateway_dukcapil_requests_total{operation="nik",outcome="ok"} 3.0' in text
