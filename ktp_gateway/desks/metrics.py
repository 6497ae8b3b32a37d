"""Desk health as Prometheus series of the access point (desks have no inbound port to scrape).

Read from the hub at each scrape. Labels are desk names (bounded by the roster), reader names
(bounded by each desk's readers), states and error codes: never a person, a SAM serial or an id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ktp_gateway.desks.hub import DeskHub, DeskHubObserver
from ktp_gateway.observability.namespace import NS

SAM_STATES = ("absent", "present", "open", "error")


def _families() -> dict[str, GaugeMetricFamily]:
    def gauge(name: str, text: str, labels: list[str]) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"{NS}_{name}", text, labels=labels)

    return {
        "up": gauge("desk_up", "1 while the enrolled desk's agent is connected", ["desk"]),
        "seen": gauge(
            "desk_last_seen_age_seconds", "Seconds since the desk last sent a frame", ["desk"]
        ),
        "certificate": gauge(
            "desk_certificate_expiry_timestamp_seconds",
            "When the desk's certificate expires (Unix time)",
            ["desk"],
        ),
        "card": gauge(
            "desk_reader_card_present", "1 while a card is on the desk's reader", ["desk", "reader"]
        ),
        "sam": gauge(
            "desk_sam_state",
            "1 for the SAM slot's state at the desk's reader",
            ["desk", "reader", "state"],
        ),
        "days": gauge(
            "desk_sam_activation_days_remaining",
            "Days until the desk reader's activation record expires, as the desk reported",
            ["desk", "reader"],
        ),
    }


class DeskCollector(Collector):
    """Each enrolled desk's connection and readers, from the hub at scrape time."""

    def __init__(self, hub: Callable[[], DeskHub | None]) -> None:
        self._hub = hub  # None until the channel runs: then nothing to report

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return list(_families().values())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = _families()
        now = dt.datetime.now(dt.UTC)
        hub = self._hub()
        try:
            views = hub.views() if hub is not None else []
        except Exception:  # the roster unreadable: a scrape must never fail
            views = []
        for view in views:
            entry = view.entry
            if entry.state != "enrolled":
                continue  # invited or revoked: nothing to watch
            desk = entry.name
            families["up"].add_metric([desk], 1 if view.connected else 0)
            if view.last_seen_at is not None:
                families["seen"].add_metric([desk], (now - view.last_seen_at).total_seconds())
            if entry.certificate_not_after is not None:
                families["certificate"].add_metric([desk], entry.certificate_not_after.timestamp())
            for reader in view.readers:
                families["card"].add_metric([desk, reader.name], 1 if reader.card_present else 0)
                for state in SAM_STATES:
                    value = 1 if reader.sam_state == state else 0
                    families["sam"].add_metric([desk, reader.name, state], value)
                if reader.activation_days_left is not None:
                    families["days"].add_metric([desk, reader.name], reader.activation_days_left)
        yield from families.values()


class DeskMetrics(DeskHubObserver):
    """The hub's counters: refused frames, enrolment attempts, tap outcomes per desk."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.refused = Counter(
            f"{NS}_desk_frames_refused", "Frames or connections refused from desks, by code",
            ["code"], registry=registry,
        )  # fmt: skip
        self.enrolments = Counter(
            f"{NS}_desk_enrolments", "Desk enrolment attempts by outcome", ["outcome"],
            registry=registry,
        )  # fmt: skip
        self.taps = Counter(
            f"{NS}_desk_taps", "Taps routed to desks, by desk and outcome (ok or the error code)",
            ["desk", "outcome"], registry=registry,
        )  # fmt: skip

    def frame_refused(self, code: str) -> None:
        self.refused.labels(code=code).inc()

    def enrolment(self, outcome: str) -> None:
        self.enrolments.labels(outcome=outcome).inc()

    def tap(self, desk: str, outcome: str) -> None:
        self.taps.labels(desk=desk, outcome=outcome).inc()
