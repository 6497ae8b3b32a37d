"""Rate limits: one token bucket per client and one per officer, refused with 429 + Retry-After.

Buckets live in memory for one gateway process, or in PostgreSQL (`shared.backend: postgres`)
so that several worker processes spend one budget. In memory, a bucket that has refilled
completely carries no information and is dropped when the table grows.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from ktp_gateway.errors import ErrorCode, GatewayError

MAX_KEYS = 10_000


class RateLimited(GatewayError):
    """Too many requests from one client or one officer; `retry_after_seconds` says when."""

    code = ErrorCode.RATE_LIMITED

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after


class Bucket(Protocol):
    """Per-key budgets: `take` spends a token (0) or says how long until one is there."""

    async def take(self, key: str) -> float: ...

    async def refund(self, key: str) -> None: ...


class TokenBucket:
    """`burst` requests at once, refilled at `per_minute`; keyed by client or officer."""

    def __init__(
        self, per_minute: float, burst: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    async def take(self, key: str) -> float:
        return self.spend(key)

    async def refund(self, key: str) -> None:
        self.give_back(key)

    def spend(self, key: str) -> float:
        """Spend one token for `key`: 0 when allowed, else the seconds until one is there."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > MAX_KEYS:
                self._prune(now)
            return 0.0

    def give_back(self, key: str) -> None:
        """Give back the token `spend` took (the check it paid for went well)."""
        with self._lock:
            tokens, at = self._buckets.get(key, (self.burst, self._clock()))
            self._buckets[key] = (min(self.burst, tokens + 1), at)

    def _prune(self, now: float) -> None:
        full = [
            key
            for key, (tokens, at) in self._buckets.items()
            if tokens + (now - at) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]


class RateLimits:
    """The gateway's limits: per client application, per officer, and per source address for
    key checks that are not already known good (each costs a scrypt)."""

    def __init__(self, client: Bucket, officer: Bucket, key_checks: Bucket | None = None) -> None:
        self.client = client
        self.officer = officer
        self.key_checks = key_checks or TokenBucket(30, 10)

    async def check_key_check(self, source: str) -> None:
        """Spend one of `source`'s key checks before the scrypt runs (429 when none is left);
        a check that admits a caller gives it back, so only failures use the budget up."""
        wait = await self.key_checks.take(source)
        if wait:
            raise RateLimited("too many failed authentications from this address", retry_after=wait)

    async def check_client(self, name: str) -> None:
        wait = await self.client.take(name)
        if wait:
            raise RateLimited("this client's request rate is over its limit", retry_after=wait)

    async def check_officer(self, officer_id: str) -> None:
        wait = await self.officer.take(officer_id)
        if wait:
            raise RateLimited("this officer's request rate is over the limit", retry_after=wait)

    async def aclose(self) -> None:
        """Close what the buckets hold open (a database connection)."""
        for bucket in {id(b): b for b in (self.client, self.officer, self.key_checks)}.values():
            close = getattr(bucket, "aclose", None)
            if close is not None:
                await close()
