"""The policy's metrics, on the gateway's injectable registry: counts and the agreement's standing.

Labels are bounded: a source (card, registry), a field label from a fixed list, an error code,
a record kind. The agreement gauges are computed at scrape time, so days remaining is always
today's and a suspension shows at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from ktp_gateway.errors import GatewayError
from ktp_gateway.privacy.agreement import AgreementGuard, AgreementState, Standing

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

NS = "ktp_gateway"


class AgreementCollector(Collector):
    """Days remaining, in force, suspended: asked of the guard at each scrape."""

    def __init__(self, guard: AgreementGuard) -> None:
        self._guard = guard

    def _families(self) -> tuple[InfoMetricFamily, GaugeMetricFamily, GaugeMetricFamily,
                                 GaugeMetricFamily, GaugeMetricFamily]:  # fmt: skip
        return (
            InfoMetricFamily(f"{NS}_agreement", "The agreement (PKS) the gateway runs under"),
            GaugeMetricFamily(
                f"{NS}_agreement_days_remaining", "Days until the agreement ends, today included"
            ),
            GaugeMetricFamily(
                f"{NS}_agreement_expiry_timestamp_seconds",
                "When the agreement ends: local midnight after its last valid day (Unix time)",
            ),
            GaugeMetricFamily(f"{NS}_agreement_in_force", "1 while registry access is allowed"),
            GaugeMetricFamily(f"{NS}_agreement_suspended", "1 while access is suspended"),
        )

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        info, days, expiry, in_force, suspended = self._families()
        agreement = self._guard.agreement
        try:
            standing: Standing | None = self._guard.standing()
        except GatewayError:  # the shared switch is unknown: access is refused meanwhile
            standing = None
        info.add_metric(
            [],
            {
                "user_number": agreement.user.number,
                "provider_number": agreement.provider.number,
                "valid_until": agreement.valid_until.isoformat(),
            },
        )
        days.add_metric([], agreement.days_remaining(dt.date.today()))
        expiry.add_metric([], ends_at(agreement.valid_until))
        in_force.add_metric([], 1 if standing is not None and standing.in_force else 0)
        if standing is not None:
            suspended.add_metric([], 1 if standing.state is AgreementState.SUSPENDED else 0)
        yield from (info, days, expiry, in_force, suspended)


def ends_at(valid_until: dt.date) -> float:
    """The instant an agreement valid through `valid_until` (inclusive, local days) ends."""
    after = dt.datetime.combine(valid_until + dt.timedelta(days=1), dt.time())
    return after.astimezone().timestamp()  # naive: the machine's local zone, as `standing` uses


class PolicyMetrics:
    """Counters of what the policy withheld, refused, recorded and wiped."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.collectors = registry  # the Prometheus registry these series live on
        self.withheld = Counter(
            f"{NS}_fields_withheld",
            "Person fields kept from leaving the gateway because the agreement does not grant them",
            ["source", "field"],
            registry=registry,
        )
        self.refused = Counter(
            f"{NS}_access_refused",
            "Card or registry requests refused by the policy, by error code",
            ["code"],
            registry=registry,
        )
        self.audit_records = Counter(
            f"{NS}_audit_records", "Audit records written, by kind", ["kind"], registry=registry
        )
        self.audit_failures = Counter(
            f"{NS}_audit_failures", "Audit records that could not be written", registry=registry
        )
        self.wiped_bytes = Counter(
            f"{NS}_wiped_bytes", "Bytes of card and registry buffers overwritten", registry=registry
        )

    def watch_agreement(self, guard: AgreementGuard) -> None:
        self.collectors.register(AgreementCollector(guard))

    def withheld_observer(self) -> Callable[[str, str], None]:
        return lambda source, field: self.withheld.labels(source=source, field=field).inc()
