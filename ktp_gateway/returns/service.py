"""Build the outbox from the settings (the app's lifespan and the CLI share this)."""

from __future__ import annotations

import structlog
from prometheus_client import CollectorRegistry

from ktp_gateway.errors import ConfigurationError
from ktp_gateway.returns.backends import open_store
from ktp_gateway.returns.metrics import OutboxMetrics
from ktp_gateway.returns.outbox import Outbox, OutboxObserver, Sender
from ktp_gateway.returns.rotation import KeyUsage, usage
from ktp_gateway.returns.sealing import Sealer
from ktp_gateway.returns.settings import ReturnDataSettings
from ktp_gateway.returns.store import OutboxStore

log = structlog.get_logger("ktp_gateway.returns")


def sealer_for(settings: ReturnDataSettings) -> Sealer:
    """The sealer of the configured current key and previous keys (each file checked)."""
    return Sealer(settings.key(), settings.previous_keys())


def report_keys(store: OutboxStore, sealer: Sealer) -> KeyUsage:
    """Log, at start, items that still need a previous key or that no configured key opens."""
    found = usage(store, sealer)
    if found.previous:
        log.warning("returns.sealed_under_previous_key", count=found.previous)
    if found.unopenable:
        # Kept, not deleted: they are delivered once the key that sealed them is configured.
        log.error("returns.sealing_key_missing", count=found.unopenable, code="configuration_error")
    return found


def open_outbox(
    settings: ReturnDataSettings,
    sender: Sender,
    *,
    return_url: str | None,
    registry: CollectorRegistry | None = None,
    audit: OutboxObserver | None = None,
) -> Outbox | None:
    """The outbox, or None when return data is not enabled; refuses half a configuration."""
    if not settings.enabled:
        return None
    if return_url is None:
        raise ConfigurationError(
            "return data is enabled but Dukcapil's store URL is not set "
            "(KTP_GATEWAY_DUKCAPIL__RETURNS__URL)"
        )
    store = open_store(settings)
    metrics = OutboxMetrics(registry, store.counts, store.oldest) if registry is not None else None
    observers = [o for o in (metrics, audit) if o is not None]
    observer = _Observers(observers) if observers else None
    sealer = sealer_for(settings)
    report_keys(store, sealer)
    return Outbox(settings, store, sealer, sender, observer=observer)


class _Observers:
    """Metrics and the audit trail both hear of each delivery's outcome."""

    def __init__(self, observers: list[OutboxObserver]) -> None:
        self._observers = observers

    def on_delivery(self, outcome: str) -> None:
        for observer in self._observers:
            observer.on_delivery(outcome)
