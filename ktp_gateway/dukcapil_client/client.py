"""The Dukcapil client: every call the gateway makes to the registry (HTTP itself in http.py).

Every way a call can go becomes a value or a `DukcapilError` with a stable code: refusals in
HTTP 200 (messages.py), proxies' HTML pages and broken bodies (interpret.py), timeouts, an
unreachable service, and a circuit breaker that fails fast while Dukcapil is down (breaker.py).
Messages never carry the NIK, names, credentials or bodies. Only connect failures are retried:
nothing was sent, so a retry cannot spend quota twice. Credentials are read per call
(credentials.py), so a rotated secret file is used without a restart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

import structlog

from ktp_gateway.domain import FacePhoto, FamilyMember, Grants, PersonData
from ktp_gateway.dukcapil_client.breaker import BreakerState, CircuitBreaker
from ktp_gateway.dukcapil_client.credentials import CredentialSource
from ktp_gateway.dukcapil_client.fields import (
    dropped_keys,
    family_from_records,
    person_from_record,
    photo_from_record,
    released_keys,
)
from ktp_gateway.dukcapil_client.http import HttpTransport, TransportError
from ktp_gateway.dukcapil_client.interpret import (
    Answer,
    envelope_of,
    first_refusal,
    next_daily_reset,
    retry_after_seconds,
)
from ktp_gateway.dukcapil_client.messages import DukcapilRefusal
from ktp_gateway.dukcapil_client.probe import PROBE_NIK, LoginProbe, judge
from ktp_gateway.dukcapil_client.returns_wire import ReturnOutcome, interpret_return, return_body
from ktp_gateway.dukcapil_client.settings import DukcapilSettings
from ktp_gateway.dukcapil_client.tls import client_context
from ktp_gateway.dukcapil_client.wire import Envelope, NikRequest
from ktp_gateway.errors import ConfigurationError, DukcapilError, ErrorCode, GatewayError
from ktp_gateway.nik import validate_nik

log = structlog.get_logger("ktp_gateway.dukcapil")

OUTCOME_OK = "ok"
_BACKOFF_SECONDS = 0.2
T = TypeVar("T")


class DukcapilOperation:
    """The bounded `operation` label of each call."""

    NIK = "nik"
    PHOTO = "photo"
    FAMILY = "family"
    RETURN_DATA = "return_data"
    LOGIN_PROBE = "login_probe"


class DukcapilObserver(Protocol):
    """Metrics hooks; outcome is "ok" or an ErrorCode value, never an id."""

    def on_request(self, outcome: str, seconds: float, operation: str = "nik") -> None: ...

    def on_quota(self, remaining: int) -> None: ...

    def on_breaker(self, state: str) -> None: ...

    def on_dropped(self, operation: str, field: str) -> None: ...


class NullObserver:
    """The default observer: records nothing."""

    def on_request(self, outcome: str, seconds: float, operation: str = "nik") -> None:
        """Ignore the request."""

    def on_quota(self, remaining: int) -> None:
        """Ignore the quota."""

    def on_breaker(self, state: str) -> None:
        """Ignore the breaker."""

    def on_dropped(self, operation: str, field: str) -> None:
        """Ignore the dropped field."""


def _error(code: ErrorCode, detail: str) -> DukcapilError:
    return DukcapilError(detail, code=code)


def _verify(settings: DukcapilSettings) -> ssl.SSLContext | bool:
    if not settings.verify:  # settings refuse this unless insecure_dev is set
        log.warning("dukcapil.tls_verification_disabled", insecure_dev=True)
        return False
    return client_context(settings.ca_bundle, settings.tls_pins) or True


class Transport(Protocol):
    """The HTTP edge (http.py): a POST and its answer, or a TransportError."""

    async def post(self, url: str, body: Any, headers: Mapping[str, str]) -> Answer: ...

    async def peer_certificate(self, url: str) -> bytes | None: ...

    async def aclose(self) -> None: ...


def transport_for(settings: DukcapilSettings) -> HttpTransport:
    """The pool the settings describe: as many connections as calls may be in flight."""
    return HttpTransport(
        connections=settings.max_concurrency,
        connect_seconds=settings.connect_timeout_seconds,
        read_seconds=settings.read_timeout_seconds,
        verify=_verify(settings),
        max_bytes=settings.max_response_bytes,
    )


def _credentials(settings: DukcapilSettings) -> CredentialSource:
    returns = settings.returns
    return CredentialSource(
        user_id=settings.user_id,
        user_id_file=settings.user_id_file,
        password=settings.password,
        password_file=settings.password_file,
        ip_user=settings.ip_user,
        return_token=returns.token,
        return_token_file=returns.token_file,
    )


def _transport_error(exc: TransportError) -> DukcapilError:
    if exc.kind in ("timeout", "connect_timeout"):
        what = "connecting to Dukcapil timed out" if exc.kind == "connect_timeout" else None
        return _error(ErrorCode.DUKCAPIL_TIMEOUT, what or "Dukcapil answered too late")
    if exc.kind == "too_large":
        return _error(ErrorCode.DUKCAPIL_BAD_RESPONSE, "Dukcapil answer is too large")
    if exc.pin_mismatch:
        return _error(
            ErrorCode.DUKCAPIL_UNAVAILABLE,
            "TLS with Dukcapil failed: the server's key does not match the pinned key",
        )
    if exc.tls:
        return _error(ErrorCode.DUKCAPIL_UNAVAILABLE, "TLS with Dukcapil failed (ca_bundle?)")
    return _error(ErrorCode.DUKCAPIL_UNAVAILABLE, f"Dukcapil unreachable ({exc.kind})")


class DukcapilClient:
    """Ask Dukcapil about one NIK, and send it data balikan; one instance per gateway process."""

    def __init__(
        self,
        settings: DukcapilSettings,
        *,
        grants: Grants | None = None,
        observer: DukcapilObserver | None = None,
        transport: Transport | None = None,
    ) -> None:
        settings.require_credentials()
        self._settings = settings
        # The agreement's grants (the gateway passes them); asked for, mapped and released only.
        self._grants = grants or Grants()
        self._observer: DukcapilObserver = observer or NullObserver()
        self._credentials = _credentials(settings)
        self._limit = asyncio.Semaphore(settings.max_concurrency)
        self._breaker = CircuitBreaker(
            failures=settings.breaker_failures,
            open_seconds=settings.breaker_open_seconds,
            on_change=self._breaker_changed,
        )
        self._safely(lambda: self._observer.on_breaker(BreakerState.CLOSED.value))
        self._quota_warned = False
        connect, read = settings.connect_timeout_seconds, settings.read_timeout_seconds
        self._deadline = connect + read  # a trickling server cannot stretch an attempt further
        self._http: Transport = transport or transport_for(settings)

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

    @property
    def breaker_state(self) -> BreakerState:
        """closed, open or half_open (also exported as a metric)."""
        return self._breaker.state

    # -- queries -----------------------------------------------------------------------------

    async def query_nik(self, nik: str) -> PersonData:
        """The granted fields Dukcapil holds for `nik`; a malformed NIK is never sent."""
        compact = validate_nik(nik)  # InvalidNikError: nothing leaves the gateway
        settings = self._settings

        async def call() -> PersonData:
            envelope = await self._records(settings.call_nik, compact)
            if len(envelope.content) > 1:
                # Which one is the person? Not ours to guess: code 12's finding (data ganda).
                raise _error(
                    ErrorCode.DUKCAPIL_DUPLICATE_RECORDS, "Dukcapil answered several records"
                )
            self._count_dropped(DukcapilOperation.NIK, envelope, released_keys(self._grants.fields))
            return person_from_record(
                envelope.content[0], expected_nik=compact, granted=self._grants.fields
            )

        return await self._run(DukcapilOperation.NIK, call)

    async def query_photo(self, nik: str) -> FacePhoto:
        """The face photo (foto wajah) Dukcapil holds for `nik`, if the agreement grants it."""
        compact = validate_nik(nik)
        settings = self._settings
        self._require_grant(self._grants.photo, "the face photo")

        async def call() -> FacePhoto:
            envelope = await self._records(settings.call_photo, compact)
            if len(envelope.content) > 1:
                raise _error(ErrorCode.DUKCAPIL_REJECTED, "Dukcapil answered several photos")
            self._count_dropped(DukcapilOperation.PHOTO, envelope, frozenset({"NIK", "FOTO"}))
            return photo_from_record(
                envelope.content[0],
                expected_nik=compact,
                max_bytes=settings.max_response_bytes,
            )

        return await self._run(DukcapilOperation.PHOTO, call)

    async def query_family(self, nik: str) -> list[FamilyMember]:
        """The members of `nik`'s Kartu Keluarga (granted fields each; the KK number never)."""
        compact = validate_nik(nik)
        settings = self._settings
        self._require_grant(self._grants.family, "family card members")

        async def call() -> list[FamilyMember]:
            envelope = await self._records(settings.call_family, compact)
            released = released_keys(self._grants.fields, "STAT_HBKEL")
            self._count_dropped(DukcapilOperation.FAMILY, envelope, released)
            return family_from_records(
                envelope.content, asked_nik=compact, granted=self._grants.fields
            )

        return await self._run(DukcapilOperation.FAMILY, call)

    @staticmethod
    def _require_grant(granted: bool, what: str) -> None:
        if not granted:
            raise DukcapilError(
                f"the agreement does not grant {what}", code=ErrorCode.FIELD_NOT_GRANTED
            )

    def _body(self, nik: str) -> dict[str, str]:
        credentials = self._credentials.current()
        return NikRequest(
            nik=nik,
            user_id=credentials.user_id,
            password=credentials.password,
            ip_user=credentials.ip_user,
        ).to_wire(self._settings.key_style)

    async def _records(self, endpoint: str, nik: str) -> Envelope:
        answer = await self._post(self._settings.url(endpoint), self._body(nik), {})
        envelope = envelope_of(answer)
        if envelope.quota_limiter is not None:
            self._quota(envelope.quota_limiter)
        if not envelope.content:
            raise _error(ErrorCode.DUKCAPIL_BAD_RESPONSE, "Dukcapil answered no record")
        refused = first_refusal(envelope.content)
        if refused is not None:
            raise self._refused(refused, answer, quota_said=envelope.quota_limiter is not None)
        return envelope

    def _refused(
        self, refused: DukcapilRefusal, answer: Answer, *, quota_said: bool
    ) -> DukcapilRefusal:
        if refused.code is ErrorCode.DUKCAPIL_UNKNOWN_RESPONSE:
            log.warning(
                "dukcapil.unknown_response",
                message=refused.message,
                response_code=refused.response_code,
            )
        if refused.code is ErrorCode.DUKCAPIL_QUOTA_EXHAUSTED:
            if not quota_said:
                self._quota(0)  # the refusal itself says none is left
            now = dt.datetime.now(dt.UTC)
            seconds = retry_after_seconds(answer.retry_after, now)
            settings = self._settings
            if seconds is not None:
                refused.resets_at = now + dt.timedelta(seconds=seconds)
            elif settings.quota_resets_at is not None:
                refused.resets_at = next_daily_reset(
                    now, settings.quota_resets_at, settings.quota_timezone
                )
            if refused.resets_at is not None:
                seconds = max((refused.resets_at - now).total_seconds(), 0.0)
                refused.retry_after_seconds = seconds
        return refused

    def _count_dropped(self, operation: str, envelope: Envelope, released: frozenset[str]) -> None:
        fields = [field for keys in envelope.raw_keys for field in dropped_keys(keys, released)]

        def report() -> None:
            for field in fields:
                self._observer.on_dropped(operation, field)

        self._safely(report)

    async def probe_login(self) -> LoginProbe:
        """Does Dukcapil accept the credentials? A CALL_NIK with no NIK at all (probe.py).

        For `ktp-gateway doctor`: nobody is looked up. Outside the breaker: a probe never opens it.
        """
        url = self._settings.call_nik_url

        async def call() -> LoginProbe:
            started = time.perf_counter()
            answer = await self._post(url, self._body(PROBE_NIK), {})
            seconds = time.perf_counter() - started
            return judge(replace(answer, peer_certificate=await self._certificate(url)), seconds)

        return await self._run(DukcapilOperation.LOGIN_PROBE, call, breaker=False)

    async def _certificate(self, url: str) -> bytes | None:
        try:
            return await self._http.peer_certificate(url)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            # The probe itself got through; the doctor says the expiry is unknown.
            log.info("dukcapil.certificate_unread", error=type(exc).__name__)
            return None

    # -- data balikan ------------------------------------------------------------------------

    async def send_return_data(
        self, nik: str, nomor_register: str, nomor_sk: str, *, idempotency_key: str
    ) -> ReturnOutcome:
        """Send one item of data balikan; ACCEPTED or ALREADY_SENT both mean Dukcapil holds it."""
        compact = validate_nik(nik)
        wire = self._settings.returns
        if wire.url is None:
            raise ConfigurationError(
                "the return-data URL is not configured (KTP_GATEWAY_DUKCAPIL__RETURNS__URL)"
            )
        url = wire.url

        async def call() -> ReturnOutcome:
            token = self._credentials.current().return_token.get_secret_value()
            if not token:
                raise ConfigurationError("the return-data token is not configured")
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": idempotency_key}
            body = return_body(wire, compact, nomor_register, nomor_sk)
            answer = await self._post(url, body, headers)
            return interpret_return(answer.status, answer.body)

        # The store may be another host than the queries: the outbox's backoff paces it, so it
        # does not go through (or trip) the query breaker.
        return await self._run(DukcapilOperation.RETURN_DATA, call, breaker=False)

    # -- plumbing ----------------------------------------------------------------------------

    async def _run(
        self, operation: str, call: Callable[[], Awaitable[T]], *, breaker: bool = True
    ) -> T:
        started = time.perf_counter()
        outcome = "cancelled"
        try:
            if breaker:
                self._breaker.before()  # CircuitOpenError: fail fast, nothing sent
            async with self._limit:
                result = await self._guarded(call, breaker)
            outcome = OUTCOME_OK
            return result
        except GatewayError as exc:
            outcome = exc.code.value
            raise
        finally:
            self._notify(operation, outcome, time.perf_counter() - started)

    async def _guarded(self, call: Callable[[], Awaitable[T]], breaker: bool) -> T:
        try:
            result = await call()
        except DukcapilError as exc:
            if breaker:
                self._breaker.after(exc.code)
            raise
        except (ConfigurationError, asyncio.CancelledError):
            if breaker:
                self._breaker.cancelled()
            raise
        except Exception as exc:
            # A bug of ours, not Dukcapil's: keep the type for operators, drop the message
            # (it could quote a value).
            if breaker:
                self._breaker.cancelled()
            log.error("dukcapil.internal_error", error=type(exc).__name__)
            raise _error(ErrorCode.INTERNAL_ERROR, "Dukcapil client failed") from None
        if breaker:
            self._breaker.after(None)
        return result

    async def _post(self, url: str, body: Any, headers: dict[str, str]) -> Answer:
        attempts = self._settings.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                async with asyncio.timeout(self._deadline):
                    return await self._http.post(url, body, headers)
            except TransportError as exc:
                # Nothing was sent, so a retry is safe; a TLS failure will not heal by itself.
                if exc.sent or exc.tls or attempt == attempts:
                    raise _transport_error(exc) from None
                log.info("dukcapil.retry", attempt=attempt, reason=exc.kind)
                await asyncio.sleep(_BACKOFF_SECONDS * attempt * random.uniform(0.5, 1.5))  # noqa: S311
            except TimeoutError:
                raise _error(ErrorCode.DUKCAPIL_TIMEOUT, "Dukcapil answered too late") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _quota(self, remaining: int) -> None:
        self._safely(lambda: self._observer.on_quota(remaining))
        low = remaining < self._settings.quota_warn_below
        if low and not self._quota_warned:
            log.warning("dukcapil.quota_low", remaining=remaining)
        self._quota_warned = low

    def _breaker_changed(self, state: BreakerState) -> None:
        if state is BreakerState.CLOSED:
            log.info("dukcapil.breaker", state=state.value)
        else:
            log.warning("dukcapil.breaker", state=state.value)
        self._safely(lambda: self._observer.on_breaker(state.value))

    def _notify(self, operation: str, outcome: str, seconds: float) -> None:
        self._safely(lambda: self._observer.on_request(outcome, seconds, operation))

    @staticmethod
    def _safely(call: Callable[[], None]) -> None:
        try:
            call()
        except Exception as exc:
            # Metrics must never break a lookup.
            log.warning("dukcapil.observer_failed", error=type(exc).__name__)
