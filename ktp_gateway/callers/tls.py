"""Mutual TLS: hand the verified client certificate's name to the app.

uvicorn verifies the certificate against the configured client CA during the handshake but does
not pass it on, so the server's HTTP protocol reads it from the TLS transport once per connection
and puts it into the ASGI scope's `tls` extension, where the API looks the client up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

TLS_EXTENSION = "tls"
CERT_NAME = "client_cert_name"  # as in the ASGI TLS extension: the subject as "CN=..."


def subject_common_name(peercert: dict[str, Any] | None) -> str | None:
    """The subject CN of a certificate as `ssl.SSLSocket.getpeercert()` returns it."""
    for rdn in (peercert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def cert_name_from_scope(scope: Mapping[str, Any]) -> str | None:
    """The verified client certificate's CN for this request, if the connection had one."""
    name = scope.get("extensions", {}).get(TLS_EXTENSION, {}).get(CERT_NAME)
    if isinstance(name, str) and name.startswith("CN="):
        return name[3:]
    return None


def app_with_client_cert(app: Any, transport: asyncio.BaseTransport) -> Any:
    """`app` for one connection, with the verified client certificate's CN in each request's scope.

    uvicorn verifies the certificate during the handshake but does not pass it on; the server's
    protocols (api/protocol.py, whichever HTTP parser) wrap their app with this once per
    connection. Without a certificate the app is returned as it is.
    """
    common_name = subject_common_name(transport.get_extra_info("peercert"))
    if common_name is None:
        return app

    async def with_cert(scope: Any, receive: Any, send: Any) -> None:
        extensions = scope.setdefault("extensions", {})
        extensions[TLS_EXTENSION] = {CERT_NAME: f"CN={common_name}"}
        await app(scope, receive, send)

    return with_cert
