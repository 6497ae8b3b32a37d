"""`serve --workers N`: the registry API in N processes on one listening socket.

Python runs one request's CPU at a time per process; an access point that serves every desk
needs the machine's cores. uvicorn's supervisor binds the socket once, starts the workers,
answers their health checks and replaces one that dies. Each worker serves the registry-only
API (NIK lookups, claims, return data, agreement, health): readers and the desk channel belong
to one process (a one-worker gateway or the desks), never to N at once. What must hold across
workers lives in PostgreSQL (`shared.backend: postgres`: the audit trail and the rate limits;
the return-data outbox on its own `return_data.backend: postgres`), so a start that would keep
it per process is refused. `dukcapil.max_concurrency` stays the access point's budget towards
Dukcapil: each worker gets its share.
"""

from __future__ import annotations

import os

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from ktp_gateway.api.app import create_app
from ktp_gateway.api.protocol import protocol_class
from ktp_gateway.api.server import server_config
from ktp_gateway.config import Settings, SharedBackend
from ktp_gateway.errors import ConfigurationError
from ktp_gateway.observability import multiprocess
from ktp_gateway.observability.logs import configure_logging
from ktp_gateway.privacy.hardening import harden
from ktp_gateway.returns.settings import Backend as OutboxBackend

MAX_WORKERS = 64


def check_workers(settings: Settings, workers: int) -> None:
    """Refuse a worker count the settings cannot serve correctly (clear message, at start)."""
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigurationError(f"--workers must be 1 to {MAX_WORKERS}")
    if workers == 1:
        return
    if settings.shared.backend is not SharedBackend.POSTGRES:
        raise ConfigurationError(
            f"--workers {workers} needs shared.backend: postgres (KTP_GATEWAY_SHARED__BACKEND, "
            "KTP_GATEWAY_SHARED__POSTGRES_DSN): the audit trail and the rate limits must be one "
            "for every worker; files and memory are the one-process default "
            "(docs/operator-guide.md)"
        )
    outbox = settings.return_data
    if outbox.enabled and outbox.backend is not OutboxBackend.POSTGRES:
        raise ConfigurationError(
            f"--workers {workers} needs return_data.backend: postgres: the SQLite outbox is for "
            "one process"
        )
    if workers > settings.dukcapil.max_concurrency:
        raise ConfigurationError(
            f"--workers {workers} is more than dukcapil.max_concurrency "
            f"({settings.dukcapil.max_concurrency}), the requests in flight to Dukcapil the "
            "access point allows: the workers share it, each needs at least one"
        )
    if settings.desks.enabled:
        raise ConfigurationError(
            f"--workers {workers}: the desk channel is held by one process; serve desks from a "
            "one-worker gateway and the registry API from the workers (docs/operator-guide.md)"
        )


def worker_app() -> FastAPI:
    """The app one worker serves (uvicorn imports this factory in each worker process)."""
    harden()  # each worker, as `serve` does: no core dump, not dumpable
    settings = Settings()
    configure_logging(
        settings.log.level,
        json=settings.log.json_output,
        allow_apdu_trace=settings.log.allow_apdu_trace,
    )
    return create_app(settings, local_readers=False)


class _WorkerConfig(uvicorn.Config):
    """A config the supervisor can hand to a spawned worker: the protocol class (built per
    server, with its read deadline) is rebuilt in the worker from the same settings."""

    def load(self) -> None:
        if not self.loaded:
            api = Settings().api
            self.http = protocol_class(api.http_parser, api.request_read_timeout_seconds)
        super().load()


def serve_workers(settings: Settings, workers: int, *, port: int | None = None) -> None:
    """Run `workers` registry-only workers until a signal stops the supervisor."""
    check_workers(settings, workers)
    # The link's budget is the access point's, not each worker's: the workers share it.
    share = settings.dukcapil.max_concurrency // workers
    os.environ["KTP_GATEWAY_DUKCAPIL__MAX_CONCURRENCY"] = str(share)  # the workers read it
    base = server_config(FastAPI(), settings, port=port)
    config = _WorkerConfig(
        "ktp_gateway.api.workers:worker_app",
        factory=True,
        host=base.host,
        port=base.port,
        http=settings.api.http_parser,  # a name until the worker rebuilds the class (load)
        loop=base.loop,
        timeout_keep_alive=base.timeout_keep_alive,
        limit_concurrency=base.limit_concurrency,
        access_log=False,
        log_config=None,
        workers=workers,
        ssl_certfile=base.ssl_certfile,
        ssl_keyfile=base.ssl_keyfile,
        ssl_ca_certs=base.ssl_ca_certs,
        ssl_cert_reqs=base.ssl_cert_reqs,
    )
    metric_files = multiprocess.prepare()  # before the workers start: they inherit it
    try:
        _Supervisor(config, sockets=[config.bind_socket()]).run()
    finally:
        multiprocess.remove(metric_files)


class _Supervisor(Multiprocess):
    """uvicorn's supervisor, which also takes a dead worker's gauges out of the metrics."""

    def keep_subprocess_alive(self) -> None:
        before = {process.pid for process in self.processes}
        super().keep_subprocess_alive()
        for pid in before - {process.pid for process in self.processes}:
            if pid is not None:
                multiprocess.forget(pid)
