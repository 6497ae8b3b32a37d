"""Mutual TLS: hand the verified client certificate's name to the app.

uvicorn verifies the certificate against the configured client CA during the handshake but does
not pass it on, so this HTTP protocol reads it from the TLS transport once per connection and
puts it into the ASGI scope's `tls` extension, where the API looks the client up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

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


class ClientCertH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus the client certificate's CN in each request's scope."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        common_name = subject_common_name(transport.get_extra_info("peercert"))
        if common_name is None:
            return
        inner = self.app

        async def with_cert(scope: Any, receive: Any, send: Any) -> None:
            extensions = scope.setdefault("extensions", {})
            extensions[TLS_EXTENSION] = {CERT_NAME: f"CN={common_name}"}
            await inner(scope, receive, send)

        self.app = with_cert
