"""Build the outbox from the settings (the app's lifespan and the CLI share this)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from ktp_gateway.errors import ConfigurationError
from ktp_gateway.returns.metrics import OutboxMetrics
from ktp_gateway.returns.outbox import Outbox, OutboxObserver, Sender
from ktp_gateway.returns.sealing import Sealer
from ktp_gateway.returns.settings import ReturnDataSettings
from ktp_gateway.returns.store import open_store


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
    return Outbox(settings, store, Sealer(settings.key()), sender, observer=observer)


class _Observers:
    """Metrics and the audit trail both hear of each delivery's outcome."""

    def __init__(self, observers: list[OutboxObserver]) -> None:
        self._observers = observers

    def on_delivery(self, outcome: str) -> None:
        for observer in self._observers:
            observer.on_delivery(outcome)
