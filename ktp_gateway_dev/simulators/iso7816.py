"""ISO 7816 pieces the emulators need: command parsing, status words, BER-TLV and the ATR's TCK.

The emulators deliberately parse APDUs with their own small code instead of the host's
`ktp_gateway.reader.smartcard.apdu`: a shared codec would let one encoding bug cancel itself out
between host and card, and the virtual stack exists to catch exactly such bugs. Short APDUs only,
as the KTP-el relay never needs extended length.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import reduce

SHORT_MAX = 256


class SW(IntEnum):
    """Status words the emulators answer (ISO 7816-4 section 5.6)."""

    OK = 0x9000
    END_OF_FILE = 0x6282
    VERIFICATION_FAILED = 0x6300
    WRONG_LENGTH = 0x6700
    SECURITY_NOT_SATISFIED = 0x6982
    AUTH_METHOD_BLOCKED = 0x6983
    CONDITIONS_NOT_SATISFIED = 0x6985
    NO_CURRENT_EF = 0x6986
    SM_OBJECTS_MISSING = 0x6987
    SM_OBJECTS_INCORRECT = 0x6988
    WRONG_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    WRONG_P1P2_FUNCTION = 0x6A86
    REFERENCED_DATA_NOT_FOUND = 0x6A88
    WRONG_P1P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00


class ApduError(ValueError):
    """Bytes that are not a short command APDU; the emulator answers WRONG_LENGTH."""


@dataclass(frozen=True, slots=True)
class Command:
    """A decoded short command APDU; `le` is None when the command has no Le field."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    @classmethod
    def parse(cls, raw: bytes) -> Command:
        """Decode ISO 7816-3 cases 1-4 (short); anything else raises `ApduError`."""
        if len(raw) < 4:
            raise ApduError("a command APDU has at least 4 bytes")
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, le=body[0] or SHORT_MAX)
        lc = body[0]
        if lc and len(body) == 1 + lc:
            return cls(cla, ins, p1, p2, bytes(body[1:]))
        if lc and len(body) == 2 + lc:
            return cls(cla, ins, p1, p2, bytes(body[1:-1]), body[-1] or SHORT_MAX)
        raise ApduError("length fields disagree with the APDU's size (extended APDUs unsupported)")

    def to_bytes(self) -> bytes:
        """Encode again (short only): the SAM rebuilds the inner command when it wraps one."""
        out = bytes((self.cla, self.ins, self.p1, self.p2))
        if self.data:
            out += bytes((len(self.data),)) + self.data
        if self.le is not None:
            out += bytes((self.le % SHORT_MAX,))
        return out

    @property
    def header(self) -> bytes:
        return bytes((self.cla, self.ins, self.p1, self.p2))


@dataclass(frozen=True, slots=True)
class Response:
    """Response data and status word, before encoding onto the wire."""

    data: bytes
    sw: int

    def to_bytes(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")


def status(sw: int) -> Response:
    """A response carrying only a status word."""
    return Response(b"", sw)


def tlv(tag: int, value: bytes) -> bytes:
    """One BER-TLV with a one-byte tag and a definite length (short or long form)."""
    length = len(value)
    if length < 0x80:
        size = bytes((length,))
    elif length <= 0xFF:
        size = bytes((0x81, length))
    else:
        size = bytes((0x82,)) + length.to_bytes(2, "big")
    return bytes((tag,)) + size + value


def parse_tlvs(raw: bytes) -> list[tuple[int, bytes]]:
    """Split one-byte-tag BER-TLVs in order; malformed input raises `ApduError`."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(raw):
        if pos + 2 > len(raw):
            raise ApduError("truncated TLV")
        tag, first = raw[pos], raw[pos + 1]
        pos += 2
        if first < 0x80:
            length = first
        elif first in (0x81, 0x82):
            width = first - 0x80
            if pos + width > len(raw):
                raise ApduError("truncated TLV length")
            length = int.from_bytes(raw[pos : pos + width], "big")
            pos += width
        else:
            raise ApduError("unsupported TLV length form")
        if pos + length > len(raw):
            raise ApduError("TLV value runs past the data")
        out.append((tag, bytes(raw[pos : pos + length])))
        pos += length
    return out


def _historical_end(atr: bytes) -> tuple[int, bool]:
    """Index just after the historical bytes, and whether a protocol other than T=0 is offered."""
    if len(atr) < 2:
        raise ValueError("an ATR has at least TS and T0")
    historical = atr[1] & 0x0F
    indicator, pos, needs_tck = atr[1] >> 4, 2, False
    while True:
        present = bin(indicator).count("1")
        if pos + present > len(atr):
            raise ValueError("ATR interface bytes run past its end")
        has_td = bool(indicator & 0x8)
        pos += present
        if not has_td:
            break
        td = atr[pos - 1]
        needs_tck |= (td & 0x0F) != 0
        indicator = td >> 4
    return pos + historical, needs_tck


def with_tck(template: bytes) -> bytes:
    """The ATR with its check byte: XOR of T0 up to the last historical byte (ISO 7816-3 8.2.5).

    The spec writes a placeholder TCK (masked out); it is replaced here. TCK is only present when
    the ATR offers a protocol other than T=0, which a contactless PC/SC ATR always does.
    """
    end, needs_tck = _historical_end(template)
    if len(template) < end:
        raise ValueError("ATR shorter than its historical bytes")
    body = template[:end]
    if not needs_tck:
        return body
    return body + bytes((reduce(lambda a, b: a ^ b, body[1:], 0),))
