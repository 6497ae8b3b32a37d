"""Dependencies as `Annotated` aliases, one per service: routes ask for what they use.

Each dependency raises its typed error when its service is absent (a gateway without readers,
without a data balikan outbox), so a route never meets None, and a test overrides one service
(`app.dependency_overrides[get_registry] = ...`) without building the others. They are
`async def`: FastAPI runs a plain `def` dependency in its thread pool, a hop per dependency per
request for what is an attribute read. Each takes the request itself rather than `ServicesDep`:
FastAPI solves a sub-dependency's own tree again wherever it is used (its cache saves only the
call), and the nested form cost the NIK lookup about 60 µs of CPU per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ktp_gateway.api.access import CallerAccess
from ktp_gateway.api.jobs import JobStore
from ktp_gateway.config import Settings
from ktp_gateway.desks.hub import DeskHub, DeskHubObserver
from ktp_gateway.desks.remote import DeskRoutes
from ktp_gateway.domain import PersonRegistry
from ktp_gateway.errors import DeskError, ErrorCode, GatewayError, ReaderError
from ktp_gateway.observability.metrics import GatewayMetrics
from ktp_gateway.privacy.policy import Policy
from ktp_gateway.reader.events import EventHub
from ktp_gateway.reader.monitor import ReaderMonitor
from ktp_gateway.reader.serial.monitor import SerialMonitor
from ktp_gateway.reader.service import ReaderService
from ktp_gateway.returns.outbox import Outbox
from ktp_gateway.verification.taps import Taps, WaitRule


@dataclass
class Services:
    """What the routes work with; built by the app's lifespan from the settings."""

    settings: Settings
    readers: ReaderService | None  # None: this node has no readers (a registry-only gateway)
    registry: PersonRegistry  # Dukcapil: NIK, face photo and family card queries
    metrics: GatewayMetrics
    policy: Policy  # agreement, field gate, audit trail: every card or registry access
    access: CallerAccess | None = None  # callers and rate limits; from the settings at start-up
    jobs: JobStore | None = None  # background verifications, in memory only
    outbox: Outbox | None = None  # data balikan; opened by the lifespan when enabled
    monitor: ReaderMonitor | None = None
    serial_monitor: SerialMonitor | None = None  # polls the integrated readers
    events: EventHub | None = None  # set by the lifespan once the event loop runs
    desks: DeskHub | None = None  # the desk channel's hub, when desks are enabled
    desk_metrics: DeskHubObserver | None = None  # its counters (built with the metrics)


def services_of(request: Request) -> Services:
    """The services the app's lifespan built (plain function: for dependencies and routes)."""
    services: Services = request.app.state.services
    return services


async def get_services(request: Request) -> Services:
    return services_of(request)


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_settings(request: Request) -> Settings:
    return services_of(request).settings


async def get_metrics(request: Request) -> GatewayMetrics:
    return services_of(request).metrics


async def get_policy(request: Request) -> Policy:
    return services_of(request).policy


async def get_registry(request: Request) -> PersonRegistry:
    return services_of(request).registry


async def get_readers(request: Request) -> ReaderService:
    services = services_of(request)
    if services.readers is None:
        raise ReaderError("this gateway has no readers", code=ErrorCode.READER_NOT_FOUND)
    return services.readers


ReadersDep = Annotated[ReaderService, Depends(get_readers)]
RegistryDep = Annotated[PersonRegistry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[GatewayMetrics, Depends(get_metrics)]
PolicyDep = Annotated[Policy, Depends(get_policy)]


async def get_taps(request: Request, registry: RegistryDep) -> Taps:
    return taps_of(services_of(request), registry)


def taps_of(services: Services, registry: PersonRegistry) -> Taps:
    """Card taps on this machine's readers or a desk's, and this registry, with the configured
    wait rule (which card source a tap needs is known only from its request)."""
    reader = services.settings.reader
    wait = WaitRule(reader.default_wait_seconds, reader.max_wait_seconds)
    desks = DeskRoutes(services.desks) if services.desks is not None else None
    return Taps(services.readers, registry, services.metrics, wait, desks=desks)


async def get_outbox(request: Request) -> Outbox:
    services = services_of(request)
    if services.outbox is None:
        raise GatewayError(
            "return data is not configured on this gateway", code=ErrorCode.RETURN_DATA_DISABLED
        )
    return services.outbox


async def get_jobs(request: Request) -> JobStore:
    return jobs_of(services_of(request))


def jobs_of(services: Services) -> JobStore:
    if services.jobs is None:
        raise GatewayError(
            "background verifications are not running", code=ErrorCode.JOBS_UNAVAILABLE
        )
    return services.jobs


async def get_events(request: Request) -> EventHub:
    services = services_of(request)
    if services.events is None:
        raise ReaderError("the reader monitor is not running", code=ErrorCode.READER_UNAVAILABLE)
    return services.events


TapsDep = Annotated[Taps, Depends(get_taps)]
OutboxDep = Annotated[Outbox, Depends(get_outbox)]
JobsDep = Annotated[JobStore, Depends(get_jobs)]
EventsDep = Annotated[EventHub, Depends(get_events)]


async def get_desks(request: Request) -> DeskHub:
    services = services_of(request)
    if services.desks is None:
        raise DeskError("this access point has no desk channel", code=ErrorCode.DESKS_DISABLED)
    return services.desks


DesksDep = Annotated[DeskHub, Depends(get_desks)]
