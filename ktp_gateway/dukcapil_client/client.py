"""The Dukcapil client: the only module of the gateway that speaks HTTP (httpx) to the registry.

`query_nik` turns every way a CALL_NIK can go into `PersonData` or a `DukcapilError` with a
stable code: refusals in HTTP 200 (messages.py), proxies' HTML pages and broken bodies
(`dukcapil_bad_response`), timeouts, and an unreachable service. Messages never carry the NIK,
names, credentials or bodies. Only connect failures are retried: nothing was sent, so a retry
cannot spend quota twice.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

import httpx
import structlog

from ktp_gateway.domain import PersonData
from ktp_gateway.dukcapil_client.fields import person_from_record
from ktp_gateway.dukcapil_client.messages import refusal
from ktp_gateway.dukcapil_client.settings import DukcapilSettings
from ktp_gateway.dukcapil_client.wire import NikRequest, WireRecord, parse_envelope
from ktp_gateway.errors import DukcapilError, ErrorCode
from ktp_gateway.nik import validate_nik

log = structlog.get_logger("ktp_gateway.dukcapil")

OUTCOME_OK = "ok"
_BACKOFF_SECONDS = 0.2


class DukcapilObserver(Protocol):
    """Metrics hooks: one call per query (outcome is "ok" or an ErrorCode value)."""

    def on_request(self, outcome: str, seconds: float) -> None: ...

    def on_quota(self, remaining: int) -> None: ...


class NullObserver:
    """The default observer: records nothing."""

    def on_request(self, outcome: str, seconds: float) -> None:
        """Ignore the request."""

    def on_quota(self, remaining: int) -> None:
        """Ignore the quota."""


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    content_type: str
    body: bytes


def _error(code: ErrorCode, detail: str) -> DukcapilError:
    return DukcapilError(detail, code=code)


def _tls(settings: DukcapilSettings) -> ssl.SSLContext | bool:
    if not settings.verify:  # settings refuse this unless insecure_dev is set
        log.warning("dukcapil.tls_verification_disabled", insecure_dev=True)
        return False
    if settings.ca_bundle is not None:
        return ssl.create_default_context(cafile=str(settings.ca_bundle))
    return True


def _tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


class DukcapilClient:
    """Ask Dukcapil for the granted fields of one NIK; one instance per gateway process."""

    def __init__(
        self, settings: DukcapilSettings, *, observer: DukcapilObserver | None = None
    ) -> None:
        settings.require_credentials()
        self._settings = settings
        self._observer: DukcapilObserver = observer or NullObserver()
        self._limit = asyncio.Semaphore(settings.max_concurrency)
        self._quota_warned = False
        connect, read = settings.connect_timeout_seconds, settings.read_timeout_seconds
        self._deadline = connect + read  # a trickling server cannot stretch an attempt further
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(connect=connect, read=read, write=connect, pool=connect),
            limits=httpx.Limits(
                max_connections=settings.max_concurrency,
                max_keepalive_connections=settings.max_concurrency,
            ),
            headers={"Accept": "application/json"},
            verify=_tls(settings),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: NIKs go to Dukcapil only
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def query_nik(self, nik: str) -> PersonData:
        """The granted fields Dukcapil holds for `nik`; a malformed NIK is never sent."""
        compact = validate_nik(nik)  # InvalidNikError: nothing leaves the gateway
        async with self._limit:
            started = time.perf_counter()
            outcome = "cancelled"
            try:
                person = await self._query(compact)
                outcome = OUTCOME_OK
                return person
            except DukcapilError as exc:
                outcome = exc.code.value
                raise
            except Exception as exc:
                # A bug of ours, not Dukcapil's: keep the type for operators, drop the message
                # (it could quote a value).
                outcome = ErrorCode.INTERNAL_ERROR.value
                log.error("dukcapil.internal_error", error=type(exc).__name__)
                raise _error(ErrorCode.INTERNAL_ERROR, "Dukcapil client failed") from None
            finally:
                self._notify(outcome, time.perf_counter() - started)

    async def _query(self, nik: str) -> PersonData:
        settings = self._settings
        body = NikRequest(
            nik=nik, user_id=settings.user_id, password=settings.password, ip_user=settings.ip_user
        ).to_wire(settings.key_style)
        return self._interpret(await self._post(body), nik)

    async def _post(self, body: dict[str, str]) -> _Answer:
        attempts = self._settings.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                async with asyncio.timeout(self._deadline):
                    return await self._send(body)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Nothing was sent, so a retry is safe; a TLS failure will not heal by itself.
                if attempt == attempts or _tls_failure(exc):
                    raise self._transport_error(exc) from None
                log.info("dukcapil.retry", attempt=attempt, reason=type(exc).__name__)
                await asyncio.sleep(_BACKOFF_SECONDS * attempt * random.uniform(0.5, 1.5))  # noqa: S311
            except (httpx.TimeoutException, TimeoutError):
                raise _error(ErrorCode.DUKCAPIL_TIMEOUT, "Dukcapil answered too late") from None
            except httpx.HTTPError as exc:
                raise self._transport_error(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _transport_error(exc: httpx.HTTPError) -> DukcapilError:
        if isinstance(exc, httpx.ConnectTimeout):
            return _error(ErrorCode.DUKCAPIL_TIMEOUT, "connecting to Dukcapil timed out")
        if _tls_failure(exc):
            return _error(ErrorCode.DUKCAPIL_UNAVAILABLE, "TLS with Dukcapil failed (ca_bundle?)")
        return _error(
            ErrorCode.DUKCAPIL_UNAVAILABLE, f"Dukcapil unreachable ({type(exc).__name__})"
        )

    async def _send(self, body: dict[str, str]) -> _Answer:
        limit = self._settings.max_response_bytes
        async with self._http.stream("POST", self._settings.call_nik_url, json=body) as response:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise _error(ErrorCode.DUKCAPIL_BAD_RESPONSE, "Dukcapil answer is too large")
                chunks.append(chunk)
            content_type = response.headers.get("content-type", "")
            return _Answer(response.status_code, content_type, b"".join(chunks))

    def _interpret(self, answer: _Answer, nik: str) -> PersonData:
        bad = ErrorCode.DUKCAPIL_BAD_RESPONSE
        if answer.status >= 500:
            raise _error(ErrorCode.DUKCAPIL_UNAVAILABLE, f"Dukcapil answered HTTP {answer.status}")
        if answer.status != 200:
            raise _error(bad, f"Dukcapil answered HTTP {answer.status} (check the URL settings)")
        if not answer.body.strip():
            raise _error(bad, "Dukcapil answered an empty body")
        if not _is_json(answer.content_type):
            raise _error(bad, "Dukcapil answered something other than JSON (a proxy page?)")
        try:
            data = json.loads(answer.body)
        except ValueError:
            raise _error(bad, "Dukcapil answered broken JSON") from None
        envelope = parse_envelope(data)
        if envelope.quota_limiter is not None:
            self._quota(envelope.quota_limiter)
        return self._person(envelope.content, nik)

    def _person(self, records: list[WireRecord], nik: str) -> PersonData:
        if not records:
            raise _error(ErrorCode.DUKCAPIL_BAD_RESPONSE, "Dukcapil answered no record")
        for record in records:
            refused = refusal(record)
            if refused is not None:
                if refused.code is ErrorCode.DUKCAPIL_UNKNOWN_RESPONSE:
                    log.warning(
                        "dukcapil.unknown_response",
                        message=refused.message,
                        response_code=refused.response_code,
                    )
                raise refused
        if len(records) > 1:
            # Which one is the person? Not ours to guess (like code 12, data ganda).
            raise _error(ErrorCode.DUKCAPIL_REJECTED, "Dukcapil answered several records")
        return person_from_record(records[0], expected_nik=nik)

    def _quota(self, remaining: int) -> None:
        self._safely(lambda: self._observer.on_quota(remaining))
        low = remaining < self._settings.quota_warn_below
        if low and not self._quota_warned:
            log.warning("dukcapil.quota_low", remaining=remaining)
        self._quota_warned = low

    def _notify(self, outcome: str, seconds: float) -> None:
        self._safely(lambda: self._observer.on_request(outcome, seconds))

    @staticmethod
    def _safely(call: Callable[[], None]) -> None:
        try:
            call()
        except Exception as exc:
            # Metrics must never break a lookup.
            log.warning("dukcapil.observer_failed", error=type(exc).__name__)
