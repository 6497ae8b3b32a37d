"""Dependencies as `Annotated` aliases: routes ask for services, tests override them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ktp_gateway.api.access import Access
from ktp_gateway.api.jobs import JobStore
from ktp_gateway.config import Settings
from ktp_gateway.metrics import GatewayMetrics
from ktp_gateway.privacy.policy import PersonRegistry, Policy
from ktp_gateway.reader.events import EventHub
from ktp_gateway.reader.monitor import ReaderMonitor
from ktp_gateway.reader.service import ReaderService
from ktp_gateway.returns.outbox import Outbox


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


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
