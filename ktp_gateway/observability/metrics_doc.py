"""The metrics reference (docs/metrics.md), generated from the collectors the gateway registers.

`python -m ktp_gateway.observability.metrics_doc` rewrites the page; `--check` exits 1 when it
is stale. Each collector is built on a fresh registry with placeholder sources (no pcscd, no
database, the demo agreement), so the table lists every family with its type, labels and help
text as `/metrics` exports them. The rule and dashboard tests check their expressions against
`exported_series()`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ktp_gateway.desks.metrics import DeskCollector, DeskMetrics
from ktp_gateway.observability.certificates import CertificateExpiryCollector
from ktp_gateway.observability.metrics import GatewayMetrics, MonitorCollector, ReaderStateCollector
from ktp_gateway.privacy.agreement import DEMO_AGREEMENT_FILE, AgreementGuard, load_agreement
from ktp_gateway.privacy.metrics import PolicyMetrics
from ktp_gateway.reader.monitor import ReaderMonitor
from ktp_gateway.reader.service import ReaderState
from ktp_gateway.returns.metrics import OutboxMetrics
from ktp_gateway.sam.activation_metrics import ActivationCollector
from ktp_gateway.sam.binding import ActivationState, ActivationStatus

DOC = Path("docs/metrics.md")
READER = "Virtual PCD 00 00"  # placeholder source values: a reader name, never a person's data
# Series each family type exposes (counters and histograms also export `_created`: not listed).
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "info": ("_info",),
    "summary": ("_sum", "_count"),
}
CREATED = {"counter", "histogram", "summary"}


@dataclass(frozen=True, slots=True)
class MetricDoc:
    """One metric family as the reference table shows it."""

    name: str
    type: str
    labels: tuple[str, ...]
    help: str
    source: str

    @property
    def series(self) -> tuple[str, ...]:
        return tuple(self.name + suffix for suffix in SUFFIXES.get(self.type, ("",)))


class _Recording(CollectorRegistry):
    """A registry that remembers its collectors in order (for their label names)."""

    def __init__(self) -> None:
        super().__init__()
        self.collectors: list[Collector] = []

    def register(self, collector: Collector) -> None:
        super().register(collector)
        self.collectors.append(collector)


def _activation() -> ActivationStatus:
    until = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    return ActivationStatus(ActivationState.ACTIVE, valid_until=until, days_until_expiry=1.0)


def _gateway(registry: CollectorRegistry) -> None:
    GatewayMetrics(registry)
    registry.register(ReaderStateCollector(lambda: [ReaderState(READER, False, "present")]))
    registry.register(MonitorCollector(ReaderMonitor()))  # not started: no PC/SC needed


def _activations(registry: CollectorRegistry) -> None:
    registry.register(ActivationCollector(lambda: [(READER, _activation())]))


def _policy(registry: CollectorRegistry) -> None:
    guard = AgreementGuard(load_agreement(DEMO_AGREEMENT_FILE), None)
    PolicyMetrics(registry).watch_agreement(guard)


def _outbox(registry: CollectorRegistry) -> None:
    OutboxMetrics(registry, lambda: {"pending": 0, "dead": 0}, lambda: {"pending": 0.0})


def _certificates(registry: CollectorRegistry) -> None:
    registry.register(CertificateExpiryCollector({}))


def _desks(registry: CollectorRegistry) -> None:
    DeskMetrics(registry)
    registry.register(DeskCollector(lambda: None))  # no channel: the families, no samples


# Where each family is defined: the module that owns the fact (kept in build_services' order).
SOURCES: tuple[tuple[str, Callable[[CollectorRegistry], None]], ...] = (
    ("ktp_gateway/observability/metrics.py", _gateway),
    ("ktp_gateway/sam/activation_metrics.py", _activations),
    ("ktp_gateway/observability/certificates.py", _certificates),
    ("ktp_gateway/privacy/metrics.py", _policy),
    ("ktp_gateway/returns/metrics.py", _outbox),
    ("ktp_gateway/desks/metrics.py", _desks),
)


def _label_names(collector: Collector) -> dict[str, tuple[str, ...]]:
    # Declared label names: prometheus_client keeps them on the metric (no public accessor), so
    # a labelled counter with no child yet still shows its labels.
    describe: Callable[[], Iterable[Metric]] = getattr(collector, "describe", list)
    declared = {family.name: tuple(getattr(family, "_labelnames", ())) for family in describe()}
    own = tuple(getattr(collector, "_labelnames", ()))
    if own and len(declared) == 1:
        declared = {name: own for name in declared}
    return declared


def reference() -> list[MetricDoc]:
    """Every metric family the gateway exports, in registration order."""
    docs: list[MetricDoc] = []
    for source, build in SOURCES:
        registry = _Recording()
        build(registry)
        for collector in registry.collectors:
            declared = _label_names(collector)
            for family in collector.collect():
                seen = {k for s in family.samples for k in s.labels if k != "le"}
                labels = (*declared.get(family.name, ()),)
                labels += tuple(sorted(seen - set(labels)))
                docs.append(
                    MetricDoc(family.name, family.type, labels, family.documentation, source)
                )
    return docs


def exported_series(docs: Iterable[MetricDoc] | None = None) -> set[str]:
    """Every series name `/metrics` can expose (with counters' and histograms' `_created`)."""
    names: set[str] = set()
    for doc in docs or reference():
        names.update(doc.series)
        if doc.type in CREATED:
            names.add(doc.name + "_created")
    return names


def markdown_table(docs: Iterable[MetricDoc]) -> str:
    rows = ["| series | type | labels | what it says | defined in |", "|---|---|---|---|---|"]
    for doc in docs:
        series = "<br>".join(f"`{name}`" for name in doc.series)
        labels = ", ".join(f"`{label}`" for label in doc.labels) or "-"
        rows.append(f"| {series} | {doc.type} | {labels} | {doc.help} | `{doc.source}` |")
    return "\n".join(rows)


HEADER = """\
# Metrics reference

`GET /metrics` serves these series in the Prometheus text format (it needs the client
credential like every `/v1` route: see [api-access.md](api-access.md) and
[deploy/prometheus/README.md](../deploy/prometheus/README.md)). One `ktp_gateway_` namespace,
base units, and bounded labels only: a reader name, a state word, an operation, an outcome, an
error code ([errors.md](errors.md)), a device, an instruction byte, a status-word class, a
certificate's role. Never a NIK, a name, a card UID, a SAM serial or a request id.

Reader, SAM, monitor, agreement, outbox and certificate gauges are read at scrape time (never
cached), so a scrape shows the state of that moment; a reader that is unplugged drops out of the
reader series rather than reporting 0. Counters and histograms also export a `_created` series.
The alerts built on these are in [alerts.md](alerts.md).

Generated from the collectors (`python -m ktp_gateway.observability.metrics_doc`); a test keeps
it in sync.

"""


def render() -> str:
    """The whole page."""
    return HEADER + markdown_table(reference()) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the metrics reference page.")
    parser.add_argument("--output", type=Path, default=DOC)
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != page:
            print(
                f"{args.output} is stale: run python -m ktp_gateway.observability.metrics_doc",
                file=sys.stderr,
            )
            return 1
        return 0
    args.output.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
