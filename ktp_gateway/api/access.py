"""Who may call and how often: the clients registry, mutual TLS and the rate limits, together."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ktp_gateway.api.limits import RateLimits, TokenBucket
from ktp_gateway.callers.clients import ALL_FIELDS, AuthMethod, Caller, ClientDirectory
from ktp_gateway.callers.keys import parse_key
from ktp_gateway.config import Settings


@dataclass
class CallerAccess:
    """Built once per app from the settings; the clients file inside reloads itself."""

    clients: ClientDirectory | None
    mtls: bool
    limits: RateLimits

    @classmethod
    def from_settings(cls, settings: Settings) -> CallerAccess:
        auth, limits = settings.auth, settings.limits
        return cls(
            clients=ClientDirectory(auth.clients_file) if auth.clients_file else None,
            mtls=auth.client_ca_file is not None,
            limits=RateLimits(
                TokenBucket(limits.client_per_minute, limits.client_burst),
                TokenBucket(limits.officer_per_minute, limits.officer_burst),
            ),
        )

    @property
    def enabled(self) -> bool:
        return self.clients is not None or self.mtls

    async def by_key(self, token: str | None) -> Caller | None:
        """The client whose API key this is; the scrypt check runs off the event loop."""
        presented = parse_key(token) if token else None
        if presented is None or self.clients is None:
            return None
        cached = self.clients.check_cached(presented)
        if cached is not None:
            return cached
        return await asyncio.to_thread(self.clients.check, presented)

    def by_certificate(self, common_name: str) -> Caller | None:
        """A client CA alone admits every certificate it signed; a clients file must list it."""
        if not self.mtls:
            return None
        if self.clients is None:
            return Caller(name=common_name, method=AuthMethod.MTLS, fields=ALL_FIELDS)
        return self.clients.by_certificate(common_name)
