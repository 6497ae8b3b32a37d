"""A session with the KTP-el card application: select, read, mutual authentication via the SAM.

File ids, instruction bytes and chunk sizes come from the card profile (`firmware_specs/cards/`).
Status words become card errors here; the session never sees pyscard.
"""

from __future__ import annotations

from ktp_gateway.errors import CardError, ErrorCode
from ktp_gateway.privacy.wipe import track
from ktp_gateway.reader.smartcard.apdu import SW, CommandApdu, ResponseApdu
from ktp_gateway.reader.smartcard.connection import ApduProcessor, ChainingProcessor
from ktp_gateway.sam.relay import SamRelayProcessor
from ktp_gateway.sam.session import SamSession
from ktp_gateway.specs import CardProfile, FileAccess

_SW_CODES: dict[int, ErrorCode] = {
    SW.FILE_NOT_FOUND: ErrorCode.CARD_NOT_KTP_EL,
    SW.INS_NOT_SUPPORTED: ErrorCode.CARD_NOT_KTP_EL,
    SW.CLA_NOT_SUPPORTED: ErrorCode.CARD_NOT_KTP_EL,
    SW.SECURITY_NOT_SATISFIED: ErrorCode.CARD_AUTH_FAILED,
    SW.VERIFICATION_FAILED: ErrorCode.CARD_AUTH_FAILED,
    SW.SM_DATA_INCORRECT: ErrorCode.CARD_AUTH_FAILED,
}


def _invalid(message: str) -> CardError:
    return CardError(message, code=ErrorCode.CARD_DATA_INVALID)


def _expect_ok(response: ResponseApdu, what: str) -> bytes:
    if response.ok:
        return response.data
    code = _SW_CODES.get(response.sw, ErrorCode.CARD_ERROR)
    raise CardError(f"card refused {what}: {SW.describe(response.sw)}", code=code)


class KtpCard:
    """The KTP-el application on one card connection."""

    def __init__(self, processor: ChainingProcessor, profile: CardProfile) -> None:
        self.processor = processor
        self.profile = profile
        self.secure: SamRelayProcessor | None = None

    def check_atr(self, atr: bytes) -> None:
        if not self.profile.matches_atr(atr):
            raise CardError("the card is not a KTP-el", code=ErrorCode.CARD_NOT_KTP_EL)

    def read_uid(self) -> bytes:
        """The UID as the SAM expects it (profile prefix + UID from the reader)."""
        get_uid = CommandApdu.from_bytes(self.profile.uid.type_a_command)  # PC/SC part 3
        uid = _expect_ok(self.processor.send_apdu(get_uid), "GET UID")
        if not uid:
            raise CardError("the reader returned an empty UID", code=ErrorCode.CARD_ERROR)
        if len(uid) > self.profile.uid.max_length:
            raise _invalid(
                f"a {len(uid)}-byte UID, the profile allows {self.profile.uid.max_length}"
            )
        return self.profile.uid.prefix + uid

    def select_application(self) -> None:
        self._select(self.profile.application.df, self.processor, "SELECT application")

    def _select(self, fid: bytes, via: ApduProcessor, what: str) -> None:
        header = self.profile.commands.select
        apdu = CommandApdu(header.cla, header.ins, header.p1, header.p2, fid)
        _expect_ok(via.send_apdu(apdu), what)

    def get_challenge(self) -> bytes:
        header = self.profile.commands.get_challenge
        apdu = CommandApdu(header.cla, header.ins, header.p1, header.p2, le=header.le)
        challenge = _expect_ok(self.processor.send_apdu(apdu), "GET CHALLENGE")
        if header.le is not None and len(challenge) != header.le:
            raise CardError(
                f"a {len(challenge)}-byte challenge, the profile says {header.le}",
                code=ErrorCode.CARD_ERROR,
            )
        return challenge

    def external_authenticate(self, cryptogram: bytes) -> bytes:
        header = self.profile.commands.external_authenticate
        apdu = CommandApdu(header.cla, header.ins, header.p1, header.p2, cryptogram, header.le)
        return _expect_ok(self.processor.send_apdu(apdu), "EXTERNAL AUTHENTICATE")

    def authenticate(self, sam: SamSession) -> None:
        """Mutual authentication relayed through the SAM; then protected files can be read."""
        uid = self.read_uid()
        self.select_application()
        card_control = self.read_file("card_control")
        sam.reset()
        challenge = self.get_challenge()
        cryptogram = sam.authenticate(card_control, uid, challenge)
        sam.verify(self.external_authenticate(cryptogram))
        self.secure = SamRelayProcessor(self.processor, sam)

    def _via(self, name: str) -> ApduProcessor:
        if self.profile.files[name].access is FileAccess.PLAIN:
            return self.processor
        if self.secure is None:
            raise CardError(
                f"{name} needs mutual authentication first", code=ErrorCode.CARD_AUTH_FAILED
            )
        return self.secure

    def read_file(self, name: str) -> bytes:
        """Read one EF's body: first 8 bytes carry the 2-byte length, then chunks of the rest.

        The stated length is checked before reading on: above the profile's `max_file_length`, or
        a chunk shorter than asked for (the file ended first), is invalid data, so a corrupt or
        hostile prefix costs at most one READ BINARY per chunk of a plausible file.
        """
        spec = self.profile.files[name]
        via = self._via(name)
        self._select(spec.fid, via, f"SELECT {name}")
        read = self.profile.read
        head = self._read(via, 0, read.first_read, name)
        if len(head) < read.length_prefix:
            raise _invalid(f"{name} is shorter than its length prefix")
        stated = int.from_bytes(head[: read.length_prefix], "big")
        if stated > (spec.max_length or read.max_file_length):
            raise _invalid(f"{name} states {stated} bytes, more than the profile allows")
        total = read.length_prefix + stated
        # Assembled in a bytearray the request's wipe scope zeroes when it ends (privacy/wipe.py).
        content = track(bytearray(head[:total]))
        while len(content) < total:
            wanted = min(read.chunk, total - len(content))
            chunk = self._read(via, len(content), wanted, name)
            if len(chunk) < wanted:
                raise _invalid(f"{name} ended before its stated length")
            content += chunk[:wanted]
        return bytes(content[read.length_prefix : total])

    def _read(self, via: ApduProcessor, offset: int, length: int, name: str) -> bytes:
        header = self.profile.commands.read_binary
        if offset > 0x7FFF:
            raise CardError(
                f"{name} is larger than READ BINARY can address", code=ErrorCode.CARD_DATA_INVALID
            )
        apdu = CommandApdu(header.cla, header.ins, offset >> 8, offset & 0xFF, le=length)
        response = via.send_apdu(apdu)
        if response.sw == SW.WRONG_P1P2 and offset > 0:
            return b""  # offset past the end: the caller reports the short file
        if response.sw == SW.END_OF_FILE:
            return response.data  # fewer bytes than Le: the caller reports the short file
        return _expect_ok(response, f"READ BINARY {name}")
