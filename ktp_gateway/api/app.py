"""The app factory: routers, problem handlers, plumbing, and a lifespan that opens the services."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry

from ktp_gateway import __version__
from ktp_gateway.api import contract, errors, middleware
from ktp_gateway.api.access import CallerAccess
from ktp_gateway.api.auth import authenticate
from ktp_gateway.api.body_limit import BodyLimit
from ktp_gateway.api.deps import Services
from ktp_gateway.api.jobs import JobStore
from ktp_gateway.api.routes import events, health, lookups, metrics_route, readers, verifications
from ktp_gateway.api.routes.agreement import router as agreement_router
from ktp_gateway.api.routes.caller import router as caller_router
from ktp_gateway.api.routes.claims import router as claims_router
from ktp_gateway.api.routes.desks import router as desks_router
from ktp_gateway.api.routes.jobs import router as jobs_router
from ktp_gateway.api.routes.return_data import router as return_data_router
from ktp_gateway.config import Settings
from ktp_gateway.desks.channel import DeskChannel
from ktp_gateway.desks.metrics import DeskCollector, DeskMetrics
from ktp_gateway.domain import Grants
from ktp_gateway.dukcapil_client.client import DukcapilClient
from ktp_gateway.observability.certificates import CertificateExpiryCollector, certificate_files
from ktp_gateway.observability.metrics import GatewayMetrics
from ktp_gateway.privacy.policy import Policy
from ktp_gateway.reader.events import EventHub
from ktp_gateway.reader.monitor import ReaderMonitor
from ktp_gateway.reader.serial.monitor import SerialMonitor
from ktp_gateway.reader.service import ReaderService
from ktp_gateway.returns.outbox import Outbox
from ktp_gateway.returns.service import open_outbox
from ktp_gateway.sam.activation_metrics import ActivationCollector
from ktp_gateway.specs import load_specs


def build_services(
    settings: Settings, registry: CollectorRegistry | None = None, *, local_readers: bool = True
) -> Services:
    """Everything the routes need, from the settings (fails fast on a bad spec or secret).

    Without `local_readers` (a worker of `serve --workers N`) the node is registry-only: no
    PC/SC or serial reader is opened, no desk channel; the reader routes answer 404.
    """
    if not local_readers:
        return _registry_only(settings, GatewayMetrics(registry or CollectorRegistry()))
    metrics = GatewayMetrics(registry or CollectorRegistry())
    monitor = ReaderMonitor() if settings.reader.monitor else None
    if monitor is not None:
        metrics.watch_monitor(monitor)
    specs = load_specs(settings.reader.specs_dir)
    integrated = settings.reader.integrated_readers(specs)
    readers = ReaderService(
        specs,
        settings.activation.load(specs, agency=settings.agreement.agency),
        check_signature=settings.reader.check_signature,
        card_timeout=settings.reader.card_timeout_seconds,
        sam_hold_seconds=settings.reader.sam_hold_seconds,
        integrated=integrated,
    )
    metrics.watch_readers(readers)
    metrics.collectors.register(ActivationCollector(readers.activation_snapshot))
    metrics.collectors.register(CertificateExpiryCollector(certificate_files(settings)))
    readers.check_activations()  # each SAM against its activation record, before serving
    policy = Policy.from_settings(settings, metrics.collectors)
    # The agreement's grant is the only list: the client maps and releases those, and asks for
    # the photo or the family card only if the agreement grants them.
    gate = policy.gate
    grants = Grants(fields=gate.granted, photo=gate.photo_granted, family=gate.family_granted)
    dukcapil = DukcapilClient(
        settings.dukcapil, grants=grants, observer=metrics.dukcapil_observer()
    )
    services = Services(
        settings=settings,
        readers=readers,
        registry=dukcapil,
        metrics=metrics,
        policy=policy,
        monitor=monitor,
    )
    if integrated is not None and settings.reader.monitor:
        services.serial_monitor = SerialMonitor(
            integrated, interval=settings.reader.serial_poll_seconds
        )
    if settings.desks.enabled:  # desk health through the access point (docs/desks.md)
        services.desk_metrics = DeskMetrics(metrics.collectors)
        metrics.collectors.register(DeskCollector(lambda: services.desks))
    return services


def _registry_only(settings: Settings, metrics: GatewayMetrics) -> Services:
    metrics.collectors.register(CertificateExpiryCollector(certificate_files(settings)))
    policy = Policy.from_settings(settings, metrics.collectors)
    gate = policy.gate
    grants = Grants(fields=gate.granted, photo=gate.photo_granted, family=gate.family_granted)
    dukcapil = DukcapilClient(
        settings.dukcapil, grants=grants, observer=metrics.dukcapil_observer()
    )
    return Services(
        settings=settings, readers=None, registry=dukcapil, metrics=metrics, policy=policy
    )


# Every /v1 router: `authenticate` runs before each of their routes, and the contract says so.
AUTHENTICATED = (
    caller_router,
    agreement_router,
    readers.router,
    events.router,
    verifications.router,
    jobs_router,
    claims_router,
    lookups.router,
    return_data_router,
    desks_router,
    metrics_route.router,
)
# The order a request meets them in. FastAPI tries each included router's routes in turn until
# one matches (about 2.6 µs per router on the 2-core machine): the case application's calls come
# first, ahead of the status and operations routes. The contract keeps AUTHENTICATED's order.
HOT = (lookups.router, verifications.router, jobs_router, claims_router, return_data_router)
MATCH_ORDER = HOT + tuple(router for router in AUTHENTICATED if router not in HOT)


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    local_readers: bool = True,
) -> FastAPI:
    """The gateway's ASGI app; `services` lets tests and the demo bring their own."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = services or build_services(settings or Settings(), local_readers=local_readers)
        app.state.services = built
        built.access = built.access or CallerAccess.from_settings(built.settings)
        jobs = built.jobs = JobStore(
            result_ttl=built.settings.jobs.result_ttl_seconds,
            max_jobs=built.settings.jobs.max_jobs,
            max_per_client=built.settings.jobs.max_jobs_per_client,
        )
        built.outbox = built.outbox or _outbox(built)
        if built.outbox is not None:
            built.outbox.start()
        monitors = [m for m in (built.monitor, built.serial_monitor) if m is not None]
        for monitor in monitors:
            monitor.start()
        if monitors:
            built.events = EventHub(monitors, asyncio.get_running_loop())
        channel = await _desk_channel(built) if local_readers else None
        try:
            yield
        finally:
            if channel is not None:
                await channel.close()
            await jobs.close()
            if built.outbox is not None:
                await built.outbox.stop()
            built.policy.close()  # after the outbox: its last outcomes are records too
            if built.events is not None:
                built.events.close()
            for monitor in monitors:
                monitor.stop()
            if built.readers is not None:
                built.readers.close()
            await built.access.limits.aclose()
            close = getattr(built.registry, "aclose", None)
            if close is not None:
                await close()

    app = FastAPI(
        title="ktp-gateway",
        version=__version__,
        summary="KTP-el + Dukcapil identity verification that stores no population data.",
        lifespan=lifespan,
        # No interactive pages: they would be open routes (and fetch scripts from a CDN); the
        # contract is /openapi.json, for any OpenAPI viewer or client generator.
        docs_url=None,
        redoc_url=None,
        # No OpenTelemetry from the framework, even when the environment configures a provider:
        # spans and their exception events would carry request details to an exporter outside
        # the no-storage guarantee (docs/no-storage.md). Off, it is also not asked per request.
        telemetry={"tracing": False, "metrics": False, "logs": False, "auto_configure": False},
        generate_unique_id_function=contract.operation_id,
    )
    errors.register(app)
    app.add_middleware(BodyLimit)  # inside the plumbing: a 413 still gets its request id
    app.add_middleware(middleware.Plumbing, observe=lambda *args: _observe_http(app, *args))
    app.include_router(health.router)  # open: liveness for supervisors, no personal data
    for router in MATCH_ORDER:
        app.include_router(router, dependencies=[Depends(authenticate)])
    contract.install(app, secured=AUTHENTICATED)
    return app


async def _desk_channel(services: Services) -> DeskChannel | None:
    """The desk channel when desks are enabled (docs/desks.md); its hub serves the routes."""
    settings = services.settings
    if not settings.desks.enabled or settings.api.tls_cert_file is None:
        return None
    channel = await DeskChannel.start(
        settings.desks,
        cert_file=settings.api.tls_cert_file,
        key_file=settings.api.tls_key_file,
        agency=settings.agreement.agency,
        observer=services.desk_metrics,
    )
    channel.hub.card_timeout = settings.reader.card_timeout_seconds
    if services.events is not None:  # desks' reader events on GET /v1/events, with the desk
        channel.hub.listeners.append(services.events.publish)
        services.events.more_state = channel.hub.state_events
    services.desks = channel.hub
    return channel


def _outbox(services: Services) -> Outbox | None:
    settings = services.settings
    sender = services.registry
    if not isinstance(sender, DukcapilClient):  # a test's stand-in registry sends nothing
        return None
    return open_outbox(
        settings.return_data,
        sender,
        return_url=settings.dukcapil.returns.url,
        registry=services.metrics.collectors,
        audit=services.policy,  # each delivery's outcome in the audit trail (semester report)
    )


def _observe_http(app: FastAPI, method: str, route: str, status: int, seconds: float) -> None:
    services: Services | None = getattr(app.state, "services", None)
    if services is not None:
        services.metrics.http_request(method, route, status, seconds)
