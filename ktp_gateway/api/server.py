"""The uvicorn server for the gateway: TLS, mutual TLS and the client-certificate protocol."""

from __future__ import annotations

import ssl

import structlog
import uvicorn
from fastapi import FastAPI

from ktp_gateway.api.protocol import protocol_class
from ktp_gateway.config import Settings

log = structlog.get_logger("ktp_gateway.api")


def server_config(app: FastAPI, settings: Settings, *, port: int | None = None) -> uvicorn.Config:
    """uvicorn settings from the gateway's: HTTPS when a certificate is set, client CA for mTLS."""
    api, auth = settings.api, settings.auth
    options: dict[str, object] = {}
    if api.tls_cert_file is not None:
        options.update(ssl_certfile=str(api.tls_cert_file), ssl_keyfile=api.tls_key_file)
    if auth.client_ca_file is not None:
        required = auth.require_client_certificate
        options.update(
            ssl_ca_certs=str(auth.client_ca_file),
            ssl_cert_reqs=ssl.CERT_REQUIRED if required else ssl.CERT_OPTIONAL,
        )
    if not auth.enabled:
        log.warning("caller authentication is off: loopback only, any local process may call")
    return uvicorn.Config(
        app,
        host=api.host,
        port=port or api.port,
        http=protocol_class(api.http_parser, api.request_read_timeout_seconds),
        loop=api.event_loop,
        timeout_keep_alive=int(api.keep_alive_seconds),
        # Over this many connections (or requests in progress) the answer is 503 at once.
        limit_concurrency=api.max_connections,
        access_log=False,  # the gateway logs one canonical line per request itself
        log_config=None,
        **options,  # type: ignore[arg-type]
    )
