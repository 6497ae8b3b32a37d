"""Build the outbox from the settings (the app's lifespan and the CLI share this)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from ktp_gateway.errors import ConfigurationError
from ktp_gateway.returns.metrics import OutboxMetrics
from ktp_gateway.returns.outbox import Outbox, Sender
from ktp_gateway.returns.sealing import Sealer
from ktp_gateway.returns.settings import ReturnDataSettings
from ktp_gateway.returns.store import open_store


def open_outbox(
    settings: ReturnDataSettings,
    sender: Sender,
    *,
    return_url: str | None,
    registry: CollectorRegistry | None = None,
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
    metrics = OutboxMetrics(registry, store.counts) if registry is not None else None
    return Outbox(settings, store, Sealer(settings.key()), sender, observer=metrics)
