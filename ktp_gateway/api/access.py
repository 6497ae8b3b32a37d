"""Who may call and how often: the clients registry, mutual TLS and the rate limits, together."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ktp_gateway.api.limits import RateLimits, TokenBucket
from ktp_gateway.callers.clients import ALL_FIELDS, AuthMethod, Caller, ClientDirectory
from ktp_gateway.callers.keys import PresentedKey, decoy_hash, parse_key, verify_secret
from ktp_gateway.config import Settings
from ktp_gateway.errors import ErrorCode


@dataclass
class CallerAccess:
    """Built once per app from the settings; the clients file inside reloads itself."""

    clients: ClientDirectory | None
    mtls: bool
    limits: RateLimits
    # Key checks under way, by (source, presented token): the same key from the same address
    # waits for the one check rather than paying a scrypt and a key-check token of its own.
    _checks: dict[tuple[str, str], asyncio.Future[Caller | None]] = field(
        default_factory=dict, init=False, repr=False
    )

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
        (429 `rate_limited` when it is spent: no scrypt at all). Requests presenting the same
        key from the same source while its check runs share that check: a case application
        opening many connections to a gateway that just started (or just reloaded its clients
        file) is not refused for its own good key, and pays one scrypt, not one per request.
        """
        if not token or self.clients is None:
            return None
        presented = parse_key(token)
        if presented is not None:
            cached = self.clients.check_cached(presented)
            if cached is not None:
                return cached
        key = (source, token)
        check = self._checks.get(key)
        if check is None or check.get_loop() is not asyncio.get_running_loop():
            check = asyncio.ensure_future(self._check(token, presented, source))
            self._checks[key] = check
            check.add_done_callback(lambda done: self._check_ended(key, done))
        # Shielded: a caller that hangs up does not cancel the check the others wait for.
        return await asyncio.shield(check)

    async def _check(
        self, token: str, presented: PresentedKey | None, source: str
    ) -> Caller | None:
        clients = self.clients
        assert clients is not None  # noqa: S101 (by_key returns before without a clients file)
        await self.limits.check_key_check(source)
        if presented is None:  # malformed: the same cost as a wrong key, and no caller
            await asyncio.to_thread(verify_secret, token, decoy_hash())
            return None
        caller = await asyncio.to_thread(clients.check, presented)
        if caller is not None:
            await self.limits.key_checks.refund(source)
        return caller

    def _check_ended(self, key: tuple[str, str], done: asyncio.Future[Caller | None]) -> None:
        if self._checks.get(key) is done:
            del self._checks[key]
        if not done.cancelled():
            done.exception()  # retrieved: every waiter may have hung up before it ended

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
