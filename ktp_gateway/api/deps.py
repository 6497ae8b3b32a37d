"""Dependencies as `Annotated` aliases: routes ask for services, tests override them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ktp_gateway.api.access import Access
from ktp_gateway.api.jobs import JobStore
from ktp_gateway.config import Settings
from ktp_gateway.domain import PersonRegistry
from ktp_gateway.observability.metrics import GatewayMetrics
from ktp_gateway.privacy.policy import Policy
from ktp_gateway.reader.events import EventHub
from ktp_gateway.reader.monitor import ReaderMonitor
from ktp_gateway.reader.service import ReaderService
from ktp_gateway.returns.outbox import Outbox
from ktp_gateway.verification.taps import Taps, WaitRule


@dataclass
class Services:
    """What the routes work with; built by the app's lifespan from the settings."""

    settings: Settings
    readers: ReaderService
    registry: PersonRegistry  # Dukcapil: NIK, face photo and family card queries
    metrics: GatewayMetrics
    policy: Policy  # agreement, field gate, audit trail: every card or registry access
    access: Access | None = None  # callers and rate limits; from the settings at start-up
    jobs: JobStore | None = None  # background verifications, in memory only
    outbox: Outbox | None = None  # data balikan; opened by the lifespan when enabled
    monitor: ReaderMonitor | None = None
    events: EventHub | None = None  # set by the lifespan once the event loop runs

    @property
    def taps(self) -> Taps:
        """Card taps on these readers and this registry, with the configured wait rule."""
        limits = self.settings.reader
        wait = WaitRule(limits.default_wait_seconds, limits.max_wait_seconds)
        return Taps(self.readers, self.registry, self.metrics, wait)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
