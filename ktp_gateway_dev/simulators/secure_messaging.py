"""Secure messaging between the virtual SAM and the virtual card, in ISO 7816-4 / ICAO 9303 style.

Command: CLA|0C INS P1 P2 Lc [DO87 = 01 || TDES-CBC(pad(data))] [DO97 = Le] DO8E 00, with
DO8E = MAC(SSC || pad(header) || DO87 || DO97). Response: [DO87] DO99 (SW) DO8E SW1 SW2, with
DO8E = MAC(SSC || DO87 || DO99). The SSC is incremented before every command and response on
both ends. The KTP-el's real format is not public: this is the project's ICAO-9303-like choice.
"""

from __future__ import annotations

from ktp_gateway_dev.simulators.crypto import (
    MAC_LENGTH,
    CryptoError,
    KeyPair,
    mac,
    mac_matches,
    pad,
    tdes_decrypt,
    tdes_encrypt,
    unpad,
)
from ktp_gateway_dev.simulators.iso7816 import (
    SHORT_MAX,
    SW,
    ApduError,
    Command,
    Response,
    parse_tlvs,
    tlv,
)

SM_CLA_BITS = 0x0C  # ISO 7816-4 5.4.1: secure messaging, header authenticated
TAG_CRYPTOGRAM = 0x87
TAG_LE = 0x97
TAG_STATUS = 0x99
TAG_MAC = 0x8E
PADDING_INDICATOR = 0x01  # DO87's first byte: ISO 9797-1 method 2 padding follows
SSC_MODULUS = 1 << 64


class SmError(Exception):
    """A protected message that fails its checks; `sw` is what the emulator answers."""

    def __init__(self, sw: SW, reason: str) -> None:
        super().__init__(reason)
        self.sw = sw


def _split_mac(raw: bytes) -> tuple[dict[int, bytes], bytes, bytes]:
    """Data objects by tag, the bytes the MAC covers, and the MAC; in the order ISO requires."""
    try:
        objects = parse_tlvs(raw)
    except ApduError as exc:
        raise SmError(SW.SM_OBJECTS_INCORRECT, str(exc)) from None
    if not objects or objects[-1][0] != TAG_MAC:
        raise SmError(SW.SM_OBJECTS_MISSING, "no DO8E at the end")
    tags = [tag for tag, _ in objects]
    if len(set(tags)) != len(tags):
        raise SmError(SW.SM_OBJECTS_INCORRECT, "repeated data object")
    received_mac = objects[-1][1]
    trailer = tlv(TAG_MAC, received_mac)
    if len(received_mac) != MAC_LENGTH or not raw.endswith(trailer):
        raise SmError(SW.SM_OBJECTS_INCORRECT, "malformed DO8E")
    return dict(objects[:-1]), raw[: -len(trailer)], received_mac


def protected_response_length(plain_length: int) -> int:
    """Size of a protected response's data field for `plain_length` plain bytes (without SW)."""
    size = len(tlv(TAG_STATUS, bytes(2))) + len(tlv(TAG_MAC, bytes(MAC_LENGTH)))
    if plain_length:
        size += len(tlv(TAG_CRYPTOGRAM, bytes(1 + len(pad(bytes(plain_length))))))
    return size


class SecureChannel:
    """One secure-messaging session: session keys and the send sequence counter."""

    def __init__(self, keys: KeyPair, ssc: int) -> None:
        self._keys = keys
        self.ssc = ssc % SSC_MODULUS

    def _next_ssc(self) -> bytes:
        self.ssc = (self.ssc + 1) % SSC_MODULUS
        return self.ssc.to_bytes(8, "big")

    def _encrypt(self, data: bytes) -> bytes:
        cryptogram = tdes_encrypt(self._keys.enc, pad(data))
        return tlv(TAG_CRYPTOGRAM, bytes((PADDING_INDICATOR,)) + cryptogram)

    def _decrypt(self, value: bytes) -> bytes:
        if not value or value[0] != PADDING_INDICATOR:
            raise SmError(SW.SM_OBJECTS_INCORRECT, "DO87 without padding indicator 01")
        try:
            return unpad(tdes_decrypt(self._keys.enc, value[1:]))
        except CryptoError as exc:
            raise SmError(SW.SM_OBJECTS_INCORRECT, str(exc)) from None

    def _check_mac(self, covered: bytes, received: bytes) -> None:
        if not mac_matches(self._keys.mac, self._next_ssc() + covered, received):
            raise SmError(SW.SM_OBJECTS_INCORRECT, "MAC mismatch")

    # SAM side -------------------------------------------------------------------------------

    def protect_command(self, command: Command) -> bytes:
        """Wrap a plain command for the card (what the SAM's wrap instruction returns)."""
        header = bytes((command.cla | SM_CLA_BITS, command.ins, command.p1, command.p2))
        objects = self._encrypt(command.data) if command.data else b""
        if command.le is not None:
            objects += tlv(TAG_LE, bytes((command.le % SHORT_MAX,)))
        objects += tlv(TAG_MAC, mac(self._keys.mac, self._next_ssc() + pad(header) + objects))
        if len(objects) >= SHORT_MAX:
            raise SmError(SW.WRONG_LENGTH, "protected command exceeds a short APDU")
        return header + bytes((len(objects),)) + objects + b"\x00"

    def unprotect_response(self, raw: bytes) -> Response:
        """Check and decipher the card's protected answer (what the SAM's unwrap does)."""
        if len(raw) < 2:
            raise SmError(SW.SM_OBJECTS_MISSING, "no status word")
        body, outer_sw = raw[:-2], raw[-2:]
        objects, covered, received = _split_mac(body)
        self._check_mac(covered, received)
        if set(objects) - {TAG_CRYPTOGRAM, TAG_STATUS} or objects.get(TAG_STATUS) != outer_sw:
            raise SmError(SW.SM_OBJECTS_INCORRECT, "DO99 missing or not the response's SW")
        data = self._decrypt(objects[TAG_CRYPTOGRAM]) if TAG_CRYPTOGRAM in objects else b""
        return Response(data, int.from_bytes(outer_sw, "big"))

    # card side ------------------------------------------------------------------------------

    def unprotect_command(self, command: Command) -> Command:
        """Check and decipher a protected command; returns the plain inner command."""
        objects, covered, received = _split_mac(command.data)
        header = bytes((command.cla, command.ins, command.p1, command.p2))
        self._check_mac(pad(header) + covered, received)
        if set(objects) - {TAG_CRYPTOGRAM, TAG_LE}:
            raise SmError(SW.SM_OBJECTS_INCORRECT, "unexpected data object")
        data = self._decrypt(objects[TAG_CRYPTOGRAM]) if TAG_CRYPTOGRAM in objects else b""
        le: int | None = None
        if TAG_LE in objects:
            if len(objects[TAG_LE]) != 1:
                raise SmError(SW.SM_OBJECTS_INCORRECT, "DO97 must hold a short Le")
            le = objects[TAG_LE][0] or SHORT_MAX
        plain_cla = command.cla & ~SM_CLA_BITS & 0xFF
        return Command(plain_cla, command.ins, command.p1, command.p2, data, le)

    def protect_response(self, response: Response) -> bytes:
        """Wrap the card's answer; the outer status word repeats DO99 for the middleware."""
        sw = response.sw.to_bytes(2, "big")
        objects = self._encrypt(response.data) if response.data else b""
        objects += tlv(TAG_STATUS, sw)
        objects += tlv(TAG_MAC, mac(self._keys.mac, self._next_ssc() + objects))
        return objects + sw
