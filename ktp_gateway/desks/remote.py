"""A desk's readers as a card source for the access point's taps.

`RemoteReader.read` has the shape of `ReaderService.read`, so a verification or a claim by card
taps at a desk exactly as at a local reader. The tap goes to the desk with a fresh nonce and the
fields (and photo) to release; the answer comes back as a signed reading, checked here
(readings.py, and the SAM bound to this desk) before anything is returned; a failure at the desk
comes back with its own code. Everything is bounded: an unknown or absent desk fails at once, a
desk lost mid-tap at once, a silent desk after the card wait plus the card timeout.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import secrets
import threading
import uuid

from ktp_gateway.desks.frames import CancelTap, Reading, TapFailed, TapRequest, error_code
from ktp_gateway.desks.hub import DeskHub, DeskSession, PendingTap
from ktp_gateway.desks.readings import check
from ktp_gateway.domain import GrantedField, HolderAsk
from ktp_gateway.errors import DeskError, ErrorCode, GatewayError, ReaderError
from ktp_gateway.reader.card.tap import CardReading
from ktp_gateway.reader.smartcard.connection import TrafficStats

POLL_SECONDS = 0.1  # how often a waiting tap looks at its cancel event
SLACK_SECONDS = 5.0  # the network and the desk's own bookkeeping, on top of the card's time
_DESK_SIDE = ("reader_", "card_", "sam_", "no_card", "verification_cancelled")


def _failure(frame: TapFailed) -> GatewayError:
    """The desk's error, with its code (a reader, card or SAM code stays one)."""
    code = error_code(frame.code)
    if code.value.startswith(_DESK_SIDE):
        return ReaderError(frame.detail, code=code)
    return DeskError(frame.detail, code=code)


class RemoteReader:
    """One desk's readers, read for one tap with these fields."""

    def __init__(
        self, hub: DeskHub, desk: str, *, fields: frozenset[GrantedField], photo: bool
    ) -> None:
        self.hub, self.desk, self.fields, self.photo = hub, desk, fields, photo

    async def read(
        self,
        reader: str | None = None,
        *,
        wait_seconds: float = 0.0,
        cancel: threading.Event | None = None,
        holder: HolderAsk | None = None,
    ) -> CardReading:
        """The desk's reading of the card on `reader`, checked; or the desk's error."""
        try:
            reading = await self._read(reader, wait_seconds, cancel, holder)
        except GatewayError as exc:
            if exc.code is not ErrorCode.DESK_NOT_FOUND:  # labels only for enrolled desks
                self.hub.observer.tap(self.desk, exc.code.value)
            raise
        self.hub.observer.tap(self.desk, "ok")
        return reading

    async def _read(
        self,
        reader: str | None,
        wait_seconds: float,
        cancel: threading.Event | None,
        holder: HolderAsk | None,
    ) -> CardReading:
        session = self.hub.session(self.desk)  # desk_not_found / desk_not_connected at once
        tap, nonce = uuid.uuid4().hex, secrets.token_urlsafe(24)
        answer: asyncio.Future[Reading | TapFailed] = asyncio.get_running_loop().create_future()
        session.pending[tap] = PendingTap(nonce=nonce, answer=answer)
        try:
            request = TapRequest(
                tap=tap,
                nonce=nonce,
                reader=reader,
                wait_seconds=wait_seconds,
                fields=sorted(self.fields | {GrantedField.NIK}),
                photo=self.photo,
                holder=holder,
            )
            await session.link.send(request.model_dump_json())
            frame = await self._answer(session, tap, answer, wait_seconds, cancel)
        finally:
            session.pending.pop(tap, None)
        if isinstance(frame, TapFailed):
            raise _failure(frame)
        return self._accept(session, frame, nonce, reader, holder)

    async def _answer(
        self,
        session: DeskSession,
        tap: str,
        answer: asyncio.Future[Reading | TapFailed],
        wait_seconds: float,
        cancel: threading.Event | None,
    ) -> Reading | TapFailed:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds + self.hub.card_timeout + SLACK_SECONDS
        cancelled = False
        try:
            while not answer.done():
                if cancel is not None and cancel.is_set() and not cancelled:
                    cancelled = True  # the desk stops waiting for the card; its answer follows
                    await session.link.send(CancelTap(tap=tap).model_dump_json())
                if loop.time() > deadline:
                    raise DeskError(
                        "the desk did not answer in time", code=ErrorCode.DESK_UNAVAILABLE
                    )
                await asyncio.wait({answer}, timeout=POLL_SECONDS)
        except asyncio.CancelledError:  # the caller hung up: free the desk's reader too
            await _try_send(session, CancelTap(tap=tap).model_dump_json())
            raise
        return answer.result()

    def _accept(
        self,
        session: DeskSession,
        frame: Reading,
        nonce: str,
        reader: str | None,
        holder: HolderAsk | None,
    ) -> CardReading:
        statement = frame.statement
        check(frame, desk=session.name, nonce=nonce, key=session.key, now=self.hub.now())
        if not self.hub.roster.bind_sam(session.name, statement.sam_serial, now=self.hub.now()):
            raise DeskError(
                "the reading went through a SAM this desk does not hold at this access point",
                code=ErrorCode.DESK_SAM_NOT_BOUND,
            )
        if reader is not None and statement.reader != reader:
            raise DeskError("the desk read another reader", code=ErrorCode.DESK_READING_FOREIGN)
        asked = {f.value for f in self.fields | {GrantedField.NIK}}
        sent = {k for k, v in frame.payload.person.model_dump().items() if v is not None}
        if not sent <= asked or (frame.payload.photo is not None and not self.photo):
            raise DeskError("the desk sent more than was asked", code=ErrorCode.DESK_FRAME_INVALID)
        if (holder is None) != (statement.holder is None):
            raise DeskError(
                "the desk's holder check is not the one asked", code=ErrorCode.DESK_FRAME_INVALID
            )
        return CardReading(
            reader=statement.reader,
            person=frame.payload.person,
            photo=_photo(frame.payload.photo),
            signature_verified=bool(statement.signature_checks),
            signature_checks=tuple(statement.signature_checks),
            card_traffic=TrafficStats(apdus=frame.card_apdus),
            sam_traffic=TrafficStats(apdus=frame.sam_apdus),
            seconds=frame.seconds,
            waited_seconds=frame.waited_seconds,
            sam_serial=statement.sam_serial,
            holder=statement.holder,
        )


def _photo(encoded: str | None) -> bytes:
    if encoded is None:
        return b""
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise DeskError("the photo is not base64", code=ErrorCode.DESK_FRAME_INVALID) from None


async def _try_send(session: DeskSession, text: str) -> None:
    with contextlib.suppress(DeskError):  # the link is gone: the desk's own wait ends with it
        await session.link.send(text)


class DeskRoutes:
    """The access point's desks as the taps see them (verification.taps.DeskRouter)."""

    def __init__(self, hub: DeskHub) -> None:
        self.hub = hub

    def reader_at(self, desk: str, *, fields: frozenset[GrantedField], photo: bool) -> RemoteReader:
        return RemoteReader(self.hub, desk, fields=fields, photo=photo)
