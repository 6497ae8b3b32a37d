"""ISO 7816-4 command and response APDUs (short and extended length) and status words."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

SHORT_MAX = 256
EXTENDED_MAX = 65536


class SW(IntEnum):
    """Status words the driver layer acts on (ISO 7816-4 section 5.6)."""

    OK = 0x9000
    END_OF_FILE = 0x6282  # fewer bytes than Le: the end of the file came first
    VERIFICATION_FAILED = 0x6300
    WRONG_LENGTH = 0x6700
    SECURITY_NOT_SATISFIED = 0x6982
    AUTH_METHOD_BLOCKED = 0x6983
    CONDITIONS_NOT_SATISFIED = 0x6985
    SM_DATA_INCORRECT = 0x6988
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    WRONG_P1P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00

    @classmethod
    def describe(cls, sw: int) -> str:
        """Name a status word for messages; unknown words are kept as hex, not dropped."""
        try:
            return f"{cls(sw).name} ({sw:04X})"
        except ValueError:
            return f"{sw:04X}"


class ApduFormatError(ValueError):
    """A command that cannot be encoded (data or Le too long)."""


@dataclass(frozen=True, slots=True)
class CommandApdu:
    """A command APDU; `le` is the expected response length (None: no Le field)."""

    cla: int
    ins: int
    p1: int = 0
    p2: int = 0
    data: bytes = b""
    le: int | None = None

    def __post_init__(self) -> None:
        header = (self.cla, self.ins, self.p1, self.p2)  # min/max: no generator per APDU
        if min(header) < 0 or max(header) > 0xFF:
            raise ApduFormatError("header bytes must be 0..255")
        if len(self.data) >= EXTENDED_MAX:
            raise ApduFormatError("command data too long for an extended APDU")
        if self.le is not None and not 0 < self.le <= EXTENDED_MAX:
            raise ApduFormatError("Le must be 1..65536")

    @property
    def extended(self) -> bool:
        return len(self.data) >= SHORT_MAX or (self.le is not None and self.le > SHORT_MAX)

    def to_bytes(self) -> bytes:
        """Encode as a case 1-4 APDU; extended length only when the sizes need it."""
        header = bytes((self.cla, self.ins, self.p1, self.p2))
        if self.extended:
            body = b"\x00" + len(self.data).to_bytes(2, "big") + self.data if self.data else b""
            if self.le is not None:
                le = (self.le % EXTENDED_MAX).to_bytes(2, "big")
                body += le if self.data else b"\x00" + le
            return header + body
        body = bytes((len(self.data),)) + self.data if self.data else b""
        if self.le is not None:
            body += bytes((self.le % SHORT_MAX,))
        return header + body

    @classmethod
    def from_bytes(cls, raw: bytes) -> CommandApdu:
        """Decode a short or extended command APDU (used by emulators and tests)."""
        if len(raw) < 4:
            raise ApduFormatError("a command APDU has at least 4 bytes")
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, le=body[0] or SHORT_MAX)
        if body[0] != 0 or len(body) == 1 + body[0] or len(body) == 2 + body[0]:
            return cls._short(cla, ins, p1, p2, body)
        return cls._extended(cla, ins, p1, p2, body)

    @classmethod
    def _short(cls, cla: int, ins: int, p1: int, p2: int, body: bytes) -> CommandApdu:
        lc = body[0]
        if len(body) == 1 + lc:
            return cls(cla, ins, p1, p2, body[1:])
        if len(body) == 2 + lc:
            return cls(cla, ins, p1, p2, body[1 : 1 + lc], body[-1] or SHORT_MAX)
        raise ApduFormatError("short APDU length fields disagree with its size")

    @classmethod
    def _extended(cls, cla: int, ins: int, p1: int, p2: int, body: bytes) -> CommandApdu:
        if len(body) == 3:
            return cls(cla, ins, p1, p2, le=int.from_bytes(body[1:3], "big") or EXTENDED_MAX)
        lc = int.from_bytes(body[1:3], "big")
        rest = body[3:]
        if lc and len(rest) == lc:
            return cls(cla, ins, p1, p2, rest)
        if lc and len(rest) == lc + 2:
            le = int.from_bytes(rest[-2:], "big") or EXTENDED_MAX
            return cls(cla, ins, p1, p2, rest[:lc], le)
        raise ApduFormatError("extended APDU length fields disagree with its size")


@dataclass(frozen=True, slots=True)
class ResponseApdu:
    """A response APDU: data and the two status bytes as one int."""

    data: bytes
    sw: int

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @property
    def ok(self) -> bool:
        return self.sw == SW.OK

    def to_bytes(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    @classmethod
    def from_bytes(cls, raw: bytes) -> ResponseApdu:
        """Split data and status word; fewer than two bytes is a garbled answer."""
        if len(raw) < 2:
            raise ApduFormatError("a response APDU has at least the two status bytes")
        return cls(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))
