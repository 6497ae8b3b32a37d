"""The access point's side of the desk channel: enrolment, the connected desks, revocation.

One handler per connection. `/enrol` turns a one-time code and a signing request into a desk
certificate. `/channel` needs that certificate (checked in the TLS handshake, then against the
roster: a superseded one is refused too), then a `hello`; from there the desk reports its
readers, renews its certificate, and (later) serves taps. A desk connecting again replaces its
older connection. `watch` closes the connection of a desk revoked by another process within a
second, so revocation cuts a connected desk off at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from ktp_gateway.desks.ca import DeskCa, load_csr
from ktp_gateway.desks.frames import (
    DeskEvent,
    DeskReader,
    DeskStatus,
    Enrolled,
    FromDeskFrame,
    Hello,
    Reading,
    Refused,
    Renewed,
    RenewRequest,
    TapFailed,
    Welcome,
    parse_enrol_request,
    parse_from_desk,
)
from ktp_gateway.desks.identity import desk_of
from ktp_gateway.desks.roster import DeskEntry, DeskRoster
from ktp_gateway.desks.settings import DesksSettings
from ktp_gateway.desks.transport import Link
from ktp_gateway.errors import DeskError, ErrorCode, GatewayError
from ktp_gateway.reader.monitor import EventKind, ReaderEvent

log = structlog.get_logger("ktp_gateway.desks")

HELLO_SECONDS = 10.0  # a peer that does not say hello (or enrol) within this is dropped
MAX_BAD_FRAMES = 5  # malformed frames a desk may send on one connection before it is dropped
WATCH_SECONDS = 1.0


@dataclass
class DeskSession:
    """One connected desk: its link and what it last reported."""

    name: str
    link: Link
    serial: int
    version: str
    readers: list[DeskReader]
    key: CertificatePublicKeyTypes  # the desk certificate's: its readings are signed with it
    pending: dict[str, PendingTap] = field(default_factory=dict)  # tap id -> its answer
    last_seen_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def seen(self) -> None:
        self.last_seen_at = dt.datetime.now(dt.UTC)

    def settle(self, frame: Reading | TapFailed) -> None:
        """Hand a desk's answer to the tap waiting for it; one for no such tap is refused."""
        pending = self.pending.get(frame.tap)
        if pending is None:
            raise DeskError(
                "an answer for a tap the desk was not asked for", code=ErrorCode.DESK_FRAME_INVALID
            )
        if not pending.answer.done():
            pending.answer.set_result(frame)

    def lost(self) -> None:
        """The link is gone: every tap still waiting on this desk fails now, not at its timeout."""
        for pending in self.pending.values():
            if not pending.answer.done():
                pending.answer.set_exception(
                    DeskError("the desk went away during the tap", code=ErrorCode.DESK_UNAVAILABLE)
                )


@dataclass(frozen=True, slots=True)
class PendingTap:
    """A tap sent to a desk: the nonce its reading must sign, and where its answer goes."""

    nonce: str
    answer: asyncio.Future[Reading | TapFailed]


@dataclass(frozen=True, slots=True)
class DeskView:
    """One desk as `GET /v1/desks` shows it: the roster's entry and the live connection."""

    entry: DeskEntry
    connected: bool
    version: str | None
    last_seen_at: dt.datetime | None
    readers: tuple[DeskReader, ...]


class DeskHubObserver:
    """What the hub tells the metrics; the default tells nobody."""

    def frame_refused(self, code: str) -> None:
        """A frame or connection refused (its error code)."""

    def enrolment(self, outcome: str) -> None:
        """An enrolment attempt: `enrolled` or its error code."""

    def tap(self, desk: str, outcome: str) -> None:
        """A tap routed to `desk` ended: `ok` or its error code."""


class DeskHub:
    """The desks of this access point: who is connected, and the handler for each connection."""

    def __init__(
        self,
        roster: DeskRoster,
        ca: DeskCa,
        settings: DesksSettings,
        *,
        clock: Callable[[], dt.datetime],
        observer: DeskHubObserver | None = None,
    ) -> None:
        self.roster, self.ca, self.settings = roster, ca, settings
        self._clock = clock
        self.observer = observer or DeskHubObserver()
        self._sessions: dict[str, DeskSession] = {}
        self.card_timeout = 10.0  # the access point's reader.card_timeout_seconds (set at start)
        self._last_seen: dict[str, dt.datetime] = {}
        self.listeners: list[Callable[[ReaderEvent], None]] = []  # e.g. the SSE event hub

    def now(self) -> dt.datetime:
        return self._clock()

    def _emit(self, kind: EventKind, reader: str | None, *, desk: str, seq: int = 0) -> None:
        event = ReaderEvent(seq, kind, reader, time.time(), desk=desk)
        for listener in self.listeners:
            listener(event)

    def state_events(self) -> list[ReaderEvent]:
        """The connected desks and their readers now, as events (a new SSE subscriber's start)."""
        events = []
        for name, session in sorted(self._sessions.items()):
            events.append(ReaderEvent(0, EventKind.DESK_CONNECTED, None, 0.0, desk=name))
            for reader in session.readers:
                events.append(
                    ReaderEvent(0, EventKind.READER_ATTACHED, reader.name, 0.0, desk=name)
                )
                if reader.card_present:
                    events.append(
                        ReaderEvent(0, EventKind.CARD_INSERTED, reader.name, 0.0, desk=name)
                    )
        return events

    # -- what the API and the metrics read
    def views(self) -> list[DeskView]:
        """Every enrolled or invited desk, connected or not (roster order: by name)."""
        return [self._view(entry) for entry in self.roster.entries()]

    def view(self, name: str) -> DeskView:
        entry = self.roster.entry(name)
        if entry is None:
            raise DeskError("no desk of that name is enrolled", code=ErrorCode.DESK_NOT_FOUND)
        return self._view(entry)

    def _view(self, entry: DeskEntry) -> DeskView:
        session = self._sessions.get(entry.name)
        return DeskView(
            entry=entry,
            connected=session is not None,
            version=session.version if session else None,
            last_seen_at=session.last_seen_at if session else self._last_seen.get(entry.name),
            readers=tuple(session.readers) if session else (),
        )

    def session(self, name: str) -> DeskSession:
        """The live connection of `name`: `desk_not_found` or `desk_not_connected` otherwise."""
        session = self._sessions.get(name)
        if session is not None:
            return session
        self.view(name)  # desk_not_found for a name the roster does not know
        raise DeskError("the desk is not connected", code=ErrorCode.DESK_NOT_CONNECTED)

    # -- connections
    async def handle(self, link: Link) -> None:
        """Serve one connection until it closes (never raises: a desk cannot stop the hub)."""
        try:
            if link.path == "/enrol":
                await self._enrol(link)
            elif link.path == "/channel":
                await self._channel(link)
            elif link.path == "/probe":
                await self._probe(link)
            else:
                await self._refuse(link, DeskError("no such path", code=ErrorCode.NOT_FOUND))
        except DeskError as exc:
            if exc.code is not ErrorCode.DESK_UNAVAILABLE:  # a closed link needs no answer
                await self._refuse(link, exc)
        except Exception:
            log.exception("desk_connection_failed")
            await link.close(policy=True, reason="internal error")

    async def _refuse(self, link: Link, exc: GatewayError) -> None:
        self.observer.frame_refused(exc.code.value)
        log.warning("desk_refused", path=link.path[:40], code=exc.code.value)
        with contextlib.suppress(DeskError):
            await link.send(Refused(code=exc.code.value, detail=exc.detail).model_dump_json())
        await link.close(policy=True, reason=exc.code.value)

    async def _enrol(self, link: Link) -> None:
        try:
            request = parse_enrol_request(await asyncio.wait_for(link.receive(), HELLO_SECONDS))
            csr = load_csr(request.csr.encode())
            now = self._clock()
            desk = self.roster.redeem(request.code, now=now)
        except GatewayError as exc:
            self.observer.enrolment(exc.code.value)
            raise DeskError(exc.detail, code=exc.code) from None
        except TimeoutError:
            raise DeskError("no enrolment request", code=ErrorCode.DESK_UNAVAILABLE) from None
        issued = self.ca.issue(csr, desk, days=self.settings.certificate_days, now=now)
        self.roster.enrolled(desk, issued, now=now)
        self.observer.enrolment("enrolled")
        log.info("desk_enrolled", desk=desk, not_after=issued.not_after.isoformat())
        answer = Enrolled(
            desk=desk,
            certificate=issued.pem.decode(),
            ca_certificate=self.ca.certificate_pem.decode(),
        )
        await link.send(answer.model_dump_json())
        await link.close()

    def _identify(self, link: Link) -> tuple[str, x509.Certificate]:
        if link.peer_certificate is None:
            raise DeskError("the channel needs the desk's certificate", code=ErrorCode.UNAUTHORIZED)
        certificate = x509.load_der_x509_certificate(link.peer_certificate)
        desk = desk_of(certificate)
        if desk is None or not self.roster.holds(desk, certificate.serial_number):
            raise DeskError(
                "this certificate is not the one an enrolled desk holds",
                code=ErrorCode.UNAUTHORIZED,
            )
        return desk, certificate

    def _welcome(self, desk: str, certificate: x509.Certificate) -> str:
        return Welcome(
            desk=desk,
            heartbeat_seconds=self.settings.heartbeat_seconds,
            certificate_not_after=certificate.not_valid_after_utc,
            renew_before_days=self.settings.renew_before_days,
        ).model_dump_json()

    async def _probe(self, link: Link) -> None:
        """The desk doctor's check: this certificate opens the channel (no session is made, so
        a running agent keeps its connection)."""
        desk, certificate = self._identify(link)
        await link.send(self._welcome(desk, certificate))
        await link.close()

    async def _channel(self, link: Link) -> None:
        desk, certificate = self._identify(link)
        try:
            hello = parse_from_desk(await asyncio.wait_for(link.receive(), HELLO_SECONDS))
        except TimeoutError:
            raise DeskError("no hello from the desk", code=ErrorCode.DESK_UNAVAILABLE) from None
        if not isinstance(hello, Hello):
            raise DeskError("a desk starts with hello", code=ErrorCode.DESK_FRAME_INVALID)
        session = DeskSession(
            name=desk,
            link=link,
            serial=certificate.serial_number,
            version=hello.version,
            readers=list(hello.readers),
            key=certificate.public_key(),
        )
        older = self._sessions.get(desk)
        self._sessions[desk] = session
        if older is not None:
            await older.link.close(reason="replaced by a newer connection")
        log.info("desk_connected", desk=desk, version=hello.version, readers=len(hello.readers))
        self._emit(EventKind.DESK_CONNECTED, None, desk=desk)
        try:
            await link.send(self._welcome(desk, certificate))
            await self._serve(session)
        finally:
            session.lost()
            if self._sessions.get(desk) is session:
                del self._sessions[desk]
                self._last_seen[desk] = session.last_seen_at
                log.info("desk_disconnected", desk=desk)
                self._emit(EventKind.DESK_DISCONNECTED, None, desk=desk)

    async def _serve(self, session: DeskSession) -> None:
        bad = 0
        while True:
            text = await session.link.receive()
            session.seen()
            try:
                await self._dispatch(session, parse_from_desk(text))
            except GatewayError as exc:
                if exc.code is ErrorCode.DESK_UNAVAILABLE:  # the link itself is gone
                    raise
                bad += 1  # a frame refused; the desk stays unless it keeps sending them
                self.observer.frame_refused(exc.code.value)
                log.warning("desk_frame_refused", desk=session.name, code=exc.code.value)
                if bad >= MAX_BAD_FRAMES:
                    raise DeskError("too many refused frames", code=exc.code) from None
                await session.link.send(
                    Refused(code=exc.code.value, detail=exc.detail).model_dump_json()
                )

    async def _dispatch(
        self,
        session: DeskSession,
        frame: FromDeskFrame,
    ) -> None:
        if isinstance(frame, DeskStatus):
            session.readers = list(frame.readers)
        elif isinstance(frame, DeskEvent):
            self._emit(EventKind(frame.kind), frame.reader, desk=session.name, seq=frame.seq)
        elif isinstance(frame, RenewRequest):
            await self._renew(session, frame)
        elif isinstance(frame, Reading | TapFailed):
            session.settle(frame)
        else:
            raise DeskError("hello twice on one connection", code=ErrorCode.DESK_FRAME_INVALID)

    async def _renew(self, session: DeskSession, frame: RenewRequest) -> None:
        csr = load_csr(frame.csr.encode())
        issued = self.ca.issue(
            csr, session.name, days=self.settings.certificate_days, now=self._clock()
        )
        self.roster.renewed(session.name, issued)
        session.serial = issued.serial  # the live connection goes on; the next uses the new one
        log.info("desk_certificate_renewed", desk=session.name, days=self.settings.certificate_days)
        await session.link.send(Renewed(certificate=issued.pem.decode()).model_dump_json())

    async def watch(self) -> None:
        """Close connections whose desk was revoked (by any process), until cancelled."""
        generation = self.roster.generation
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            now = self.roster.generation
            if now == generation:
                continue
            generation = now
            for name, session in list(self._sessions.items()):
                if not self.roster.holds(name, session.serial):
                    log.warning("desk_cut_off", desk=name)
                    revoked = DeskError("the desk was revoked", code=ErrorCode.UNAUTHORIZED)
                    await self._refuse(session.link, revoked)

    async def close(self) -> None:
        for session in list(self._sessions.values()):
            await session.link.close(reason="the access point is stopping")
