"""The desk agent's connection to the access point: one outbound WebSocket, kept up for good.

Connect, say hello with the readers, then report them on each heartbeat; renew the certificate
over the live connection when it nears expiry. When the link drops (access point restarted,
network cut, revocation), wait and connect again: the wait doubles per failure up to a cap and
is jittered so that a building's desks do not all knock at once after an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import random
import threading
from collections.abc import Callable, Sequence

import structlog

from ktp_gateway import __version__
from ktp_gateway.desk_agent.identity import DeskIdentity, signing_request
from ktp_gateway.desk_agent.reading import signed_reading
from ktp_gateway.desk_agent.settings import DeskAgentSettings
from ktp_gateway.desks.frames import (
    CancelTap,
    DeskEvent,
    DeskReader,
    DeskStatus,
    Hello,
    Reading,
    Refused,
    Renewed,
    RenewRequest,
    TapFailed,
    TapRequest,
    Welcome,
    error_code,
    parse_to_desk,
)
from ktp_gateway.desks.transport import Heartbeat, Link, dial
from ktp_gateway.errors import ConfigurationError, DeskError, ErrorCode, GatewayError
from ktp_gateway.privacy.wipe import wipe_scope
from ktp_gateway.reader.events import EventSource
from ktp_gateway.reader.monitor import EventKind, ReaderEvent
from ktp_gateway.reader.service import ReaderInfo, ReaderService

log = structlog.get_logger("ktp_gateway.desk")

WELCOME_SECONDS = 10.0
EVENT_QUEUE = 64
FORWARDED = frozenset(
    {
        EventKind.READER_ATTACHED,
        EventKind.CARD_INSERTED,
        EventKind.CARD_REMOVED,
        EventKind.READER_DETACHED,
    }
)
TAP_DRAIN_SECONDS = 5.0  # a cancelled card wait ends within one PC/SC slice
DEFAULT_HEARTBEAT = Heartbeat(interval_seconds=10.0, timeout_seconds=20.0)


def desk_reader(info: ReaderInfo) -> DeskReader:
    """A reader pair as the desk reports it: state only."""
    activation = info.activation
    return DeskReader(
        name=info.name,
        family=info.family,  # type: ignore[arg-type]  # pcsc or integrated by construction
        holder_checks=list(info.holder_checks),  # type: ignore[arg-type]  # fingerprint or none
        profile=info.profile,
        card_present=info.card_present,
        sam_present=info.sam_present,
        sam_state=info.sam_state,  # type: ignore[arg-type]  # one of the four by construction
        busy=info.busy,
        last_error=info.last_error,
        activation_state=activation.state.value if activation else None,
        activation_days_left=activation.days_until_expiry if activation else None,
    )


class Backoff:
    """Jittered exponential waits: `next()` grows them, `reset()` after a good connection."""

    def __init__(
        self, low: float, high: float, *, rng: Callable[[], float] = random.random
    ) -> None:
        self.low, self.high, self._rng = low, high, rng
        self._current = low

    def reset(self) -> None:
        self._current = self.low

    def next(self) -> float:
        wait = self._current * (0.5 + self._rng() / 2)  # in [half, whole] of the current step
        self._current = min(self._current * 2, self.high)
        return wait


class DeskAgent:
    """Keeps this desk connected to its access point and serves what the access point asks."""

    def __init__(
        self,
        identity: DeskIdentity,
        readers: ReaderService,
        settings: DeskAgentSettings,
        *,
        monitors: Sequence[EventSource] = (),
    ) -> None:
        self.identity, self.readers, self.settings = identity, readers, settings
        self.backoff = Backoff(settings.reconnect_min_seconds, settings.reconnect_max_seconds)
        self.connected = asyncio.Event()
        self._heartbeat = DEFAULT_HEARTBEAT
        self._key = identity.private_key()
        self._cancels: dict[str, threading.Event] = {}
        self._taps: set[asyncio.Task[None]] = set()
        self.monitors = list(monitors)  # PC/SC and serial: their events go to the access point
        self._events: asyncio.Queue[ReaderEvent] = asyncio.Queue(EVENT_QUEUE)
        self._served: frozenset[str] = frozenset()  # card readers this desk reported last

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until `stop` is set."""
        listener = functools.partial(self._on_event, asyncio.get_running_loop())
        for monitor in self.monitors:
            monitor.add_listener(listener)
        try:
            await self._run(stop)
        finally:
            for monitor in self.monitors:
                monitor.remove_listener(listener)

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._connect_once(stop)
            except (DeskError, ConfigurationError, OSError) as exc:
                code = exc.code.value if isinstance(exc, GatewayError) else type(exc).__name__
                log.warning("access_point_unreachable", code=code)
            finally:
                self.connected.clear()
            wait = self.backoff.next()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)

    async def _connect_once(self, stop: asyncio.Event) -> None:
        async with dial(
            f"{self.identity.url}/channel",
            context=self.identity.context(),
            max_frame_bytes=self.settings.max_frame_bytes,
            heartbeat=self._heartbeat,
        ) as link:
            welcome = await self._greet(link)
            self.backoff.reset()
            self.connected.set()
            log.info("access_point_connected", desk=welcome.desk)
            tasks = [
                asyncio.create_task(self._report(link, welcome.heartbeat_seconds)),
                asyncio.create_task(self._listen(link)),
                asyncio.create_task(stop.wait()),
            ]
            if self._renewal_due(welcome):
                await link.send(
                    RenewRequest(csr=signing_request(self.identity.directory)).model_dump_json()
                )
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await self._drain()
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]

    async def _greet(self, link: Link) -> Welcome:
        readers = await self._readers()
        hello = Hello(version=__version__, readers=readers)
        await link.send(hello.model_dump_json())
        try:
            frame = parse_to_desk(await asyncio.wait_for(link.receive(), WELCOME_SECONDS))
        except TimeoutError:
            raise DeskError(
                "the access point did not welcome", code=ErrorCode.DESK_UNAVAILABLE
            ) from None
        if isinstance(frame, Refused):
            raise DeskError(frame.detail, code=error_code(frame.code))
        if not isinstance(frame, Welcome):
            raise DeskError("expected a welcome", code=ErrorCode.DESK_FRAME_INVALID)
        return frame

    def _renewal_due(self, welcome: Welcome) -> bool:
        left = welcome.certificate_not_after - dt.datetime.now(dt.UTC)
        return left < dt.timedelta(days=welcome.renew_before_days)

    async def _readers(self) -> list[DeskReader]:
        try:
            readers = [desk_reader(info) for info in await self.readers.list_readers()]
        except GatewayError as exc:  # pcscd down: the desk is up, its readers are not
            log.warning("desk_readers_unlisted", code=exc.code.value)
            readers = []
        self._served = frozenset(r.name for r in readers)
        return readers

    async def _report(self, link: Link, every: float) -> None:
        """The readers on each heartbeat, and each event of a served reader as it happens."""
        while True:
            try:
                event = await asyncio.wait_for(self._events.get(), timeout=every)
            except TimeoutError:
                event = None
            before = self._served
            readers = await self._readers()
            if event is not None and event.reader in before | self._served:
                kind = event.kind.value
                frame = DeskEvent(kind=kind, reader=event.reader, seq=event.seq)  # type: ignore[arg-type]
                await link.send(frame.model_dump_json())
            await link.send(DeskStatus(readers=readers).model_dump_json())

    def _on_event(self, loop: asyncio.AbstractEventLoop, event: ReaderEvent) -> None:
        """From the monitor's thread: queue a reader or card event for the access point."""
        if event.kind in FORWARDED:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(self._offer, event)

    def _offer(self, event: ReaderEvent) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a burst past the queue: status catches up
            self._events.put_nowait(event)

    async def _listen(self, link: Link) -> None:
        while True:
            frame = parse_to_desk(await link.receive())
            if isinstance(frame, TapRequest):
                task = asyncio.create_task(self._tap(link, frame))
                self._taps.add(task)
                task.add_done_callback(self._taps.discard)
            elif isinstance(frame, CancelTap):
                cancel = self._cancels.get(frame.tap)
                if cancel is not None:
                    cancel.set()
            elif isinstance(frame, Renewed):
                self.identity.store_certificate(frame.certificate)
                log.info("desk_certificate_renewed")
            elif isinstance(frame, Refused):
                log.warning("access_point_refused", code=frame.code)

    async def _drain(self) -> None:
        """The link is gone: stop the card waits nobody is answered for any more, and let
        them end, so that their readers are free again before the agent reconnects."""
        for cancel in self._cancels.values():
            cancel.set()
        if self._taps:
            log.info("desk_taps_draining", taps=len(self._taps))
            await asyncio.wait(self._taps, timeout=TAP_DRAIN_SECONDS)

    async def _tap(self, link: Link, request: TapRequest) -> None:
        """Read the card for one tap, send the signed reading (or the error), wipe the buffers."""
        cancel = self._cancels[request.tap] = threading.Event()
        try:
            with wipe_scope():
                answer = await self._read(request, cancel)
                await link.send(answer.model_dump_json())
        except DeskError:
            pass  # the link went away: the access point has failed the tap already
        finally:
            self._cancels.pop(request.tap, None)

    async def _read(self, request: TapRequest, cancel: threading.Event) -> Reading | TapFailed:
        try:
            reading = await self.readers.read(
                request.reader,
                wait_seconds=request.wait_seconds,
                cancel=cancel,
                holder=request.holder,
            )
        except GatewayError as exc:
            log.info("desk_tap", outcome="error", code=exc.code.value, reader=request.reader)
            return TapFailed(tap=request.tap, code=exc.code.value, detail=exc.detail[:500])
        if cancel.is_set():
            detail = "cancelled after the card read"
            code = ErrorCode.VERIFICATION_CANCELLED.value
            return TapFailed(tap=request.tap, code=code, detail=detail)
        return signed_reading(request, reading, desk=self.identity.desk, key=self._key)
