"""The narrow edge between the gateway and a reader slot, and the APDU processor stack on top.

A `Connection` moves raw bytes to one card or SAM. Processors share one `send_apdu` shape and
stack: `RawProcessor` encodes, `ChainingProcessor` follows 61xx/6Cxx, and the SAM relay
(`ktp_gateway.sam.relay`) adds secure messaging on top. Every command, the reader's UID
pseudo-APDU and the SAM-protected ones included, goes down the same `send_apdu` path: there is
no second, raw entry point. Nothing here imports pyscard.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol

from ktp_gateway.errors import CardError, ErrorCode, GatewayError, SamError
from ktp_gateway.observability.logs import APDU
from ktp_gateway.reader.smartcard.apdu import SHORT_MAX, ApduFormatError, CommandApdu, ResponseApdu

# Card traffic carries personal data: logged only at the APDU level, which the log settings
# refuse without the development switch (observability/logs.py).
_trace = logging.getLogger("ktp_gateway.apdu")
INS_GET_RESPONSE = 0xC0
MAX_CHAINED_RESPONSES = 256  # bounds a card that answers 61xx forever


class Device(StrEnum):
    """What is behind a connection: an answer out of bounds is that device's fault."""

    CARD = "card"
    SAM = "sam"


class Connection(Protocol):
    """One reader slot with a card (or SAM) in it."""

    @property
    def atr(self) -> bytes: ...

    def transmit(self, apdu: bytes) -> bytes:
        """Send one command APDU, return the response APDU (data + SW1 SW2)."""
        ...

    def intact(self) -> bool:
        """Whether the card connected to is still there, not removed or reset since (a
        connection kept between taps is checked before each)."""
        ...

    def close(self) -> None: ...


class ApduProcessor(Protocol):
    """Anything that turns a command APDU into a response APDU."""

    def send_apdu(self, apdu: CommandApdu) -> ResponseApdu: ...


@dataclass
class TrafficStats:
    """APDUs and the time spent on one connection: for metrics and benchmarks."""

    apdus: int = 0
    # (instruction byte, status word, seconds) per APDU, in order: for the round-trip histogram
    # and the benchmarks' APDU sequence. A tap sends a few dozen, so this stays small; the
    # totals below are read from it once per tap rather than kept up per APDU.
    samples: list[tuple[int, int, float]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(seconds for _, _, seconds in self.samples)

    @property
    def by_ins(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for ins, _, _ in self.samples:
            counts[ins] = counts.get(ins, 0) + 1
        return counts


# What PC/SC reports when whatever is in a slot is gone or mute: on the SAM slot, the SAM.
SLOT_EMPTIED = frozenset({ErrorCode.CARD_REMOVED, ErrorCode.NO_CARD, ErrorCode.CARD_TIMEOUT})


def _too_long(device: Device, ins: int, limit: int) -> GatewayError:
    detail = f"the {device.value} answered INS {ins:02X} with more than the {limit} bytes asked for"
    if device is Device.SAM:
        return SamError(detail, code=ErrorCode.SAM_ERROR)
    return CardError(detail, code=ErrorCode.CARD_ERROR)


def _parse(answer: bytes) -> ResponseApdu:
    """A response too short to hold a status word is a card error, never a bare ValueError."""
    try:
        return ResponseApdu.from_bytes(answer)
    except ApduFormatError:
        raise CardError(
            "the card answered without a status word", code=ErrorCode.CARD_ERROR
        ) from None


class RawProcessor:
    """Bottom of the stack: encodes APDUs onto a `Connection` and counts the traffic."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.stats = TrafficStats()

    def send_apdu(self, apdu: CommandApdu) -> ResponseApdu:
        raw = apdu.to_bytes()
        started = time.perf_counter()
        answer = self.connection.transmit(raw)
        self._count(apdu.ins, answer, time.perf_counter() - started)
        if _trace.isEnabledFor(APDU):
            _trace.log(APDU, "apdu >> %s << %s", raw.hex(" ").upper(), answer.hex(" ").upper())
        return _parse(answer)

    def _count(self, ins: int, received: bytes, seconds: float) -> None:
        stats = self.stats
        stats.apdus += 1
        sw = int.from_bytes(received[-2:], "big") if len(received) >= 2 else 0
        stats.samples.append((ins, sw, seconds))


class ChainingProcessor:
    """Response chaining: 61xx means "GET RESPONSE for xx more", 6Cxx "resend with Le = xx".

    Every answer is bounded by what its command asked for (Le, from the profile; a short
    response when it asks for none): more is the answering device's fault, raised before the
    bytes go anywhere else (a card's answer is relayed to the SAM), and a chain of 61xx stops as
    soon as it passes the bound.
    """

    def __init__(self, inner: RawProcessor, *, device: Device = Device.CARD) -> None:
        self.inner = inner
        self.device = device

    @property
    def stats(self) -> TrafficStats:
        return self.inner.stats

    def send_apdu(self, apdu: CommandApdu) -> ResponseApdu:
        try:
            return self._follow(apdu, self.inner.send_apdu(apdu))
        except CardError as exc:
            # The PC/SC layer cannot tell slots apart: a "card" gone from the SAM slot is the SAM.
            if self.device is Device.SAM and exc.code in SLOT_EMPTIED:
                raise SamError(
                    "the SAM left its slot or stopped answering", code=ErrorCode.SAM_UNAVAILABLE
                ) from None
            raise

    def _follow(self, apdu: CommandApdu, response: ResponseApdu) -> ResponseApdu:
        limit = SHORT_MAX if apdu.le is None else apdu.le
        if response.sw1 == 0x6C:
            le = response.sw2 or SHORT_MAX
            if le > limit:
                raise _too_long(self.device, apdu.ins, limit)
            response = self.inner.send_apdu(replace(apdu, le=le))
        return self._chain(apdu, response, limit)

    def _chain(self, apdu: CommandApdu, response: ResponseApdu, limit: int) -> ResponseApdu:
        if response.sw1 != 0x61 and len(response.data) <= limit:
            return response  # no chain (nearly every answer): as it came, no copy
        data = bytearray(response.data)
        for _ in range(MAX_CHAINED_RESPONSES):
            if len(data) > limit:
                raise _too_long(self.device, apdu.ins, limit)
            if response.sw1 != 0x61:
                return ResponseApdu(bytes(data), response.sw)
            # GET RESPONSE keeps only the logical-channel bits of the original class byte.
            get_response = CommandApdu(
                apdu.cla & 0x03, INS_GET_RESPONSE, le=response.sw2 or SHORT_MAX
            )
            response = self.inner.send_apdu(get_response)
            data += response.data
        raise _too_long(self.device, apdu.ins, limit)


def processor_for(connection: Connection, *, device: Device = Device.CARD) -> ChainingProcessor:
    """The standard stack for a plain card or SAM connection."""
    return ChainingProcessor(RawProcessor(connection), device=device)
