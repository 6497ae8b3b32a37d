"""Prometheus metrics: one `ktp_gateway_` namespace, base units, bounded labels, no personal data.

Labels are reader names, operations, outcomes and error codes only: never a NIK, UID or id.
Reader and SAM state are read from the reader service at scrape time by a custom collector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ktp_gateway import __version__
from ktp_gateway.observability.namespace import NS

log = structlog.get_logger("ktp_gateway.metrics")

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from ktp_gateway.reader.card.tap import CardReading
    from ktp_gateway.reader.monitor import ReaderMonitor
    from ktp_gateway.reader.service import ReaderService, ReaderState

READ_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30)
HTTP_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
SAM_STATES = ("absent", "present", "open", "error")  # a state outside these is reported as error


def _reader_families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            f"{NS}_reader_attached", "1 while the reader is attached", labels=["reader"]
        ),
        GaugeMetricFamily(
            f"{NS}_reader_card_present", "1 while a card is on the reader", labels=["reader"]
        ),
        GaugeMetricFamily(
            f"{NS}_sam_state", "1 for the SAM slot's current state", labels=["reader", "state"]
        ),
    )


def _pcsc_up() -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{NS}_pcsc_up", "1 when PC/SC answered the scrape's reader query")


class Children:
    """A labelled metric's children, looked up once per label values.

    prometheus_client's `labels()` takes a lock and builds its key on every call, about 1.5 µs;
    a NIK lookup made about 19 such calls (13 of them for the fields Dukcapil sent and the
    agreement does not grant). The label values here are all bounded, so the cache is too.
    """

    def __init__(self, metric: Counter | Histogram | Gauge) -> None:
        self._metric = metric
        self._children: dict[tuple[str, ...], Any] = {}

    def __call__(self, *values: str) -> Any:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self._metric.labels(*values)
        return child


class ReaderStateCollector(Collector):
    """Reader, card and SAM state, asked of the reader service at each scrape (never cached)."""

    def __init__(
        self,
        snapshot: Callable[[], Iterable[ReaderState]],
        serial: Callable[[], Iterable[ReaderState]] = list,
    ) -> None:
        self._snapshot = snapshot  # PC/SC readers: raises when pcscd cannot be asked
        self._serial = serial  # integrated readers: reported whether or not pcscd is up

    def describe(self) -> Iterable[Metric]:
        # Declared so the registry refuses a second collector with the same names.
        return [*_reader_families(), _pcsc_up()]

    def collect(self) -> Iterator[Metric]:
        up = _pcsc_up()
        pcsc_up = True
        try:
            states = list(self._snapshot())
        except Exception:  # a scrape must never fail because pcscd is down
            states, pcsc_up = [], False
        up.add_metric([], 1 if pcsc_up else 0)
        try:
            states += list(self._serial())
        except Exception:  # nor because a serial port misbehaves
            log.warning("integrated reader state unavailable at scrape")
        if not pcsc_up and not states:
            yield up
            return
        attached, card, sam = _reader_families()
        for state in states:
            attached.add_metric([state.reader], 1 if state.attached else 0)
            card.add_metric([state.reader], 1 if state.card_present else 0)
            current = state.sam_state if state.sam_state in SAM_STATES else "error"
            for name in SAM_STATES:
                sam.add_metric([state.reader, name], 1 if current == name else 0)
        yield from (up, attached, card, sam)


BREAKER_STATES = ("closed", "open", "half_open")


APDU_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


_INS_LABELS = tuple(f"{ins:02X}" for ins in range(256))


def sw_class(sw: int) -> str:
    """A bounded label for a status word: success, chaining, warning or error, never the value."""
    if sw == 0x9000:
        return "9000"
    if sw >> 8 in (0x61, 0x6C):
        return f"{sw >> 8:02X}xx"
    if sw >> 8 in (0x62, 0x63):
        return "warning"
    return "error" if sw >> 12 == 6 else "other"


class MonitorCollector(Collector):
    """The monitor up gauge and the PC/SC context resets counter, read at scrape time."""

    def __init__(self, monitor: ReaderMonitor) -> None:
        self._monitor = monitor

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def _families(self) -> tuple[GaugeMetricFamily, CounterMetricFamily]:
        return (
            GaugeMetricFamily(f"{NS}_reader_monitor_up", "1 while the PC/SC monitor runs"),
            CounterMetricFamily(f"{NS}_pcsc_context_resets", "PC/SC contexts rebuilt after a loss"),
        )

    def collect(self) -> Iterator[Metric]:
        up, resets = self._families()
        health = self._monitor.health()
        up.add_metric([], 1 if health.state.value == "running" else 0)
        resets.add_metric([], health.context_resets)
        yield from (up, resets)


class DukcapilMetrics:
    """The Dukcapil client's observer: requests by outcome, latency, quota, breaker, drops."""

    def __init__(
        self,
        requests: Counter,
        latency: Histogram,
        quota: Gauge,
        breaker: Gauge | None = None,
        dropped: Counter | None = None,
    ) -> None:
        self._quota, self._breaker = quota, breaker
        self._request_children, self._latency_children = Children(requests), Children(latency)
        self._dropped_children = Children(dropped) if dropped is not None else None

    def on_request(self, outcome: str, seconds: float, operation: str = "nik") -> None:
        """One call (nik, photo, family, return_data) ended with `outcome` (never an id)."""
        self._request_children(operation, outcome).inc()
        self._latency_children(operation).observe(seconds)

    def on_quota(self, remaining: int) -> None:
        """Dukcapil said how many requests are left today."""
        self._quota.set(remaining)

    def on_breaker(self, state: str) -> None:
        """The circuit breaker is now in `state` (closed, open, half_open)."""
        if self._breaker is not None:
            for name in BREAKER_STATES:
                self._breaker.labels(state=name).set(1 if name == state else 0)

    def on_dropped(self, operation: str, field: str) -> None:
        """The registry sent a field the agreement does not grant; it was dropped."""
        if self._dropped_children is not None:
            self._dropped_children(operation, field).inc()


class GatewayMetrics:
    """Every metric of the gateway, on an injectable registry (tests use a fresh one)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.collectors = registry  # the Prometheus registry these series live on
        Info(f"{NS}_build", "Gateway version", registry=registry).info({"version": __version__})
        self.card_reads = Counter(
            f"{NS}_card_reads", "Card reads by outcome", ["reader", "outcome"], registry=registry
        )
        self.card_read_seconds = Histogram(
            f"{NS}_card_read_duration_seconds", "Time to authenticate and read a card", ["reader"],
            buckets=READ_BUCKETS, registry=registry,
        )  # fmt: skip
        self.apdus = Counter(f"{NS}_apdus", "APDUs sent", ["reader", "device"], registry=registry)
        self.sam_opens = Counter(
            f"{NS}_sam_opens",
            "Taps on this machine's readers that opened the SAM (serial and open) instead of "
            "using the one held since an earlier tap (reader.sam_hold_seconds); one per tap "
            "within the hold means the SAM slot keeps being reset",
            ["reader"],
            registry=registry,
        )
        self.holder_checks = Counter(
            f"{NS}_holder_checks",
            "Holder checks (fingerprint matched on an integrated reader) by result",
            ["reader", "result"],
            registry=registry,
        )
        self.verifications = Counter(
            f"{NS}_verifications",
            "Verifications by outcome and error code",
            ["outcome", "code"],
            registry=registry,
        )
        self.http_requests = Counter(
            f"{NS}_http_requests", "API requests", ["method", "route", "status"], registry=registry
        )
        self.http_seconds = Histogram(
            f"{NS}_http_request_duration_seconds", "API request latency", ["method", "route"],
            buckets=HTTP_BUCKETS, registry=registry,
        )  # fmt: skip
        self._http_requests = Children(self.http_requests)
        self._http_seconds = Children(self.http_seconds)
        self.dukcapil_requests = Counter(
            f"{NS}_dukcapil_requests",
            "Dukcapil requests by outcome",
            ["operation", "outcome"],
            registry=registry,
        )
        self.dukcapil_seconds = Histogram(
            f"{NS}_dukcapil_request_duration_seconds", "Dukcapil request latency", ["operation"],
            buckets=HTTP_BUCKETS, registry=registry,
        )  # fmt: skip
        self.dukcapil_quota = Gauge(
            f"{NS}_dukcapil_quota_remaining",
            "Remaining daily Dukcapil quota, when it says",
            registry=registry,
            multiprocess_mode="livemostrecent",  # several workers: the latest any live one saw
        )

        self.dukcapil_breaker = Gauge(
            f"{NS}_dukcapil_circuit_state", "1 for the Dukcapil circuit breaker's state",
            ["state"], registry=registry,
            multiprocess_mode="livemin",  # several workers: 1 for a state every live one is in
        )  # fmt: skip
        self.dukcapil_dropped = Counter(
            f"{NS}_dukcapil_fields_dropped",
            "Registry fields dropped because the agreement does not grant them (by wire key)",
            ["operation", "field"],
            registry=registry,
        )

        self.apdu_seconds = Histogram(
            f"{NS}_apdu_duration_seconds", "APDU round trip by device and instruction",
            ["device", "ins"], buckets=APDU_BUCKETS, registry=registry,
        )  # fmt: skip
        self.status_words = Counter(
            f"{NS}_status_words",
            "Status words by device and class",
            ["device", "class"],
            registry=registry,
        )
        # device x instruction byte, device x status class: bounded, kept (about 100 µs a tap
        # before, half of it labels() and a status class per APDU).
        self._apdu_seconds = Children(self.apdu_seconds)
        self._status_words = Children(self.status_words)
        self.reader_errors = Counter(
            f"{NS}_reader_errors",
            "Failed taps by reader and error code",
            ["reader", "code"],
            registry=registry,
        )

    def dukcapil_observer(self) -> DukcapilMetrics:
        return DukcapilMetrics(
            self.dukcapil_requests,
            self.dukcapil_seconds,
            self.dukcapil_quota,
            self.dukcapil_breaker,
            self.dukcapil_dropped,
        )

    def watch_readers(self, readers: ReaderService) -> None:
        """Report reader state at scrape time from the reader service, and its failed taps."""
        self.collectors.register(
            ReaderStateCollector(readers.pcsc_snapshot, readers.integrated_snapshot)
        )
        readers.on_error = self.reader_error

    def watch_monitor(self, monitor: ReaderMonitor) -> None:
        """The PC/SC monitor's own health: up, and how often it rebuilt its context."""
        self.collectors.register(MonitorCollector(monitor))

    def reader_error(self, reader: str, code: str) -> None:
        self.reader_errors.labels(reader=reader, code=code).inc()

    def card_read(self, reading: CardReading) -> None:
        self.card_reads.labels(reader=reading.reader, outcome="ok").inc()
        if reading.holder is not None:
            result = reading.holder.result.value
            self.holder_checks.labels(reader=reading.reader, result=result).inc()
        self.card_read_seconds.labels(reader=reading.reader).observe(reading.seconds)
        self.apdus.labels(reader=reading.reader, device="card").inc(reading.card_traffic.apdus)
        self.apdus.labels(reader=reading.reader, device="sam").inc(reading.sam_traffic.apdus)
        if reading.sam_opened:
            self.sam_opens.labels(reader=reading.reader).inc()
        # A tap is ~70 APDUs over a dozen label sets: look each child up once (labels() validates
        # and locks on every call; it was an eighth of the event loop's work per tap).
        for device, traffic in (("card", reading.card_traffic), ("sam", reading.sam_traffic)):
            timings: dict[int, list[float]] = {}
            words: dict[int, int] = {}
            for ins, sw, seconds in traffic.samples:
                timings.setdefault(ins, []).append(seconds)
                words[sw] = words.get(sw, 0) + 1
            for ins, values in timings.items():
                child = self._apdu_seconds(device, _INS_LABELS[ins & 0xFF])
                for seconds in values:
                    child.observe(seconds)
            classes: dict[str, int] = {}
            for sw, count in words.items():  # a tap has a few distinct status words
                kind = sw_class(sw)
                classes[kind] = classes.get(kind, 0) + count
            for sw_kind, count in classes.items():
                self._status_words(device, sw_kind).inc(count)

    def verification(self, *, outcome: str, code: str) -> None:
        self.verifications.labels(outcome=outcome, code=code).inc()

    def http_request(self, method: str, route: str, status: int, seconds: float) -> None:
        # route is the matched template (or "unmatched"), status a code: bounded label values.
        self._http_requests(method, route, str(status)).inc()
        self._http_seconds(method, route).observe(seconds)
