"""Activation state and days until expiry per reader, as metrics read at scrape time.

Labels are the reader name and a bounded state word: never a SAM serial, an activation
reference or a value. Alert on `ktp_gateway_sam_activation_days_remaining < 30`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ktp_gateway.observability.namespace import NS
from ktp_gateway.sam.binding import ActivationState, ActivationStatus

Snapshot = Callable[[], Iterable[tuple[str, ActivationStatus]]]


def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            f"{NS}_sam_activation_state",
            "1 for the reader's current SAM activation state",
            labels=["reader", "state"],
        ),
        GaugeMetricFamily(
            f"{NS}_sam_activation_days_remaining",
            "Days until the reader's activation record expires (negative: expired)",
            labels=["reader"],
        ),
        GaugeMetricFamily(
            f"{NS}_sam_activation_expiry_timestamp_seconds",
            "When the reader's activation record expires (Unix time)",
            labels=["reader"],
        ),
    )


class ActivationCollector(Collector):
    """Reads the reader service's activation view at each scrape; a failing scrape is empty."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return list(_families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        state, days, expiry = _families()
        try:
            readers = list(self._snapshot())
        except Exception:  # pcscd down: the reader collector reports that; emit nothing here
            readers = []
        for reader, status in readers:
            for name in ActivationState:
                state.add_metric([reader, name.value], 1 if status.state is name else 0)
            if status.valid_until is not None and status.days_until_expiry is not None:
                days.add_metric([reader], status.days_until_expiry)
                expiry.add_metric([reader], status.valid_until.timestamp())
        yield from (state, days, expiry)
