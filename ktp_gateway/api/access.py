"""Who may call and how often: the clients registry, mutual TLS and the rate limits, together."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ktp_gateway.api.limits import RateLimits, TokenBucket
from ktp_gateway.callers.clients import ALL_FIELDS, AuthMethod, Caller, ClientDirectory
from ktp_gateway.callers.keys import decoy_hash, parse_key, verify_secret
from ktp_gateway.config import Settings
from ktp_gateway.errors import ErrorCode


@dataclass
class CallerAccess:
    """Built once per app from the settings; the clients file inside reloads itself."""

    clients: ClientDirectory | None
    mtls: bool
    limits: RateLimits

    @classmethod
    def from_settings(cls, settings: Settings) -> CallerAccess:
        auth = settings.auth
        return cls(
            clients=ClientDirectory(auth.clients_file) if auth.clients_file else None,
            mtls=auth.client_ca_file is not None,
            limits=_rate_limits(settings),
        )

    @property
    def enabled(self) -> bool:
        return self.clients is not None or self.mtls

    async def by_key(self, token: str | None, source: str = "-") -> Caller | None:
        """The client whose API key this is; the scrypt check runs off the event loop.

        A key verified before answers from the cache; any other (a wrong secret, an unknown,
        expired or malformed id) costs one scrypt, paid from `source`'s key-check budget first
        (429 `rate_limited` when it is spent: no scrypt at all).
        """
        if not token or self.clients is None:
            return None
        presented = parse_key(token)
        if presented is not None:
            cached = self.clients.check_cached(presented)
            if cached is not None:
                return cached
        await self.limits.check_key_check(source)
        if presented is None:  # malformed: the same cost as a wrong key, and no caller
            await asyncio.to_thread(verify_secret, token, decoy_hash())
            return None
        caller = await asyncio.to_thread(self.clients.check, presented)
        if caller is not None:
            await self.limits.key_checks.refund(source)
        return caller

    def by_certificate(self, common_name: str) -> Caller | None:
        """A client CA alone admits every certificate it signed; a clients file must list it."""
        if not self.mtls:
            return None
        if self.clients is None:
            return Caller(name=common_name, method=AuthMethod.MTLS, fields=ALL_FIELDS)
        return self.clients.by_certificate(common_name)


def _rate_limits(settings: Settings) -> RateLimits:
    """In memory for one process; in PostgreSQL when several share them (`shared.backend`)."""
    limits, dsn = settings.limits, settings.shared.dsn()
    budgets = {
        "client": (limits.client_per_minute, limits.client_burst),
        "officer": (limits.officer_per_minute, limits.officer_burst),
        "key_check": (limits.key_checks_per_minute, limits.key_check_burst),
    }
    if dsn is None:
        client, officer, key_checks = (TokenBucket(*budget) for budget in budgets.values())
        return RateLimits(client, officer, key_checks)
    from ktp_gateway.postgres.buckets import SharedBucket, create_tables  # psycopg only here
    from ktp_gateway.postgres.database import Database

    database = Database(dsn, what="rate limits", code=ErrorCode.SHARED_STATE_UNAVAILABLE)
    create_tables(database)
    shared = [SharedBucket(database, scope, *budget) for scope, budget in budgets.items()]
    return RateLimits(*shared)
