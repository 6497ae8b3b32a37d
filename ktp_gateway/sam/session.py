"""A session with the KTP-el SAM: open, mutual authentication with a card, wrap/unwrap, signatures.

The SAM holds the card keys; the host only moves bytes between SAM and card. Instruction bytes
come from the SAM profile in `firmware_specs/sams/`.
"""

from __future__ import annotations

from collections.abc import Iterable

from ktp_gateway.errors import CardError, ErrorCode, SamError
from ktp_gateway.reader.smartcard.apdu import (
    SHORT_MAX,
    SW,
    ApduFormatError,
    CommandApdu,
    ResponseApdu,
)
from ktp_gateway.reader.smartcard.connection import ChainingProcessor
from ktp_gateway.specs import SamProfile


class SamSession:
    """One opened (or to-be-opened) SAM in a reader's SAM slot."""

    def __init__(self, processor: ChainingProcessor, profile: SamProfile) -> None:
        self.processor = processor
        self.profile = profile

    def check_atr(self, atr: bytes) -> None:
        """Refuse a card in the SAM slot that is not this profile's SAM."""
        if not self.profile.matches_atr(atr):
            raise SamError(
                f"the card in the SAM slot is not a {self.profile.name}",
                code=ErrorCode.SAM_UNAVAILABLE,
            )

    def _send(
        self, ins: int, data: bytes = b"", *, p1: int = 0, p2: int = 0, le: int | None = None
    ) -> bytes:
        apdu = CommandApdu(self.profile.cla, ins, p1, p2, data, le)
        response = self.processor.send_apdu(apdu)
        if not response.ok:
            raise self._error(ins, response.sw)
        return response.data

    def _error(self, ins: int, sw: int) -> SamError:
        meaning = self.profile.status_words.get(f"{sw:04X}", "")
        if meaning == "not_open" and ins == self.profile.instructions.open:
            return SamError(
                "the SAM refused the reader's activation values", code=ErrorCode.SAM_NOT_ACTIVATED
            )
        if meaning == "locked":
            return SamError("the SAM is locked after failed opens", code=ErrorCode.SAM_LOCKED)
        if meaning == "not_open":
            return SamError("the SAM is not open", code=ErrorCode.SAM_NOT_ACTIVATED)
        return SamError(f"SAM instruction {ins:02X} failed: {SW.describe(sw)}")

    def read_serial(self) -> bytes:
        """The SAM's serial number (asked before open: it picks the activation record)."""
        length = self.profile.serial_length
        serial = self._send(self.profile.instructions.serial, le=length)
        if len(serial) != length:
            raise SamError(
                f"the SAM answered a {len(serial)}-byte serial, the profile says {length}"
            )
        return serial

    def open(self, open_data: bytes) -> None:
        """Open the SAM with the data derived from this reader's activation values."""
        self._send(self.profile.instructions.open, open_data)

    def reset(self) -> None:
        """Forget any previous card session before a new tap."""
        self._send(self.profile.instructions.reset)

    def authenticate(self, card_control: bytes, uid: bytes, challenge: bytes) -> bytes:
        """The cryptogram the card expects in EXTERNAL AUTHENTICATE."""
        p2 = self.profile.authenticate_p2.get(len(card_control))
        if p2 is None:
            raise CardError(
                f"card control of {len(card_control)} bytes is not a known layout",
                code=ErrorCode.CARD_NOT_KTP_EL,
            )
        data = card_control + uid + challenge
        cryptogram = self._send(
            self.profile.instructions.authenticate, data, p2=p2, le=self.profile.cryptogram_length
        )
        if len(cryptogram) != self.profile.cryptogram_length:
            raise SamError("the SAM returned a cryptogram of the wrong length")
        return cryptogram

    def verify(self, card_answer: bytes) -> None:
        """Check the card's answer; afterwards the SAM holds the secure-messaging session."""
        response = self.processor.send_apdu(
            CommandApdu(self.profile.cla, self.profile.instructions.verify, data=card_answer)
        )
        if response.sw == SW.VERIFICATION_FAILED:
            raise CardError(
                "the card failed mutual authentication", code=ErrorCode.CARD_AUTH_FAILED
            )
        if not response.ok:
            raise self._error(self.profile.instructions.verify, response.sw)

    def wrap(self, command: CommandApdu) -> CommandApdu:
        """Protect a plain command for the card (an APDU like any other, sent the same way)."""
        protected = self._send(self.profile.instructions.wrap, command.to_bytes(), le=SHORT_MAX)
        try:
            return CommandApdu.from_bytes(protected)
        except ApduFormatError:
            raise SamError("the SAM's protected command is not an APDU") from None

    def unwrap(self, response: ResponseApdu) -> ResponseApdu:
        """Check and decipher the card's protected answer; returns the plain response."""
        raw = self.processor.send_apdu(
            CommandApdu(
                self.profile.cla,
                self.profile.instructions.unwrap,
                data=response.to_bytes(),
                le=SHORT_MAX,
            )
        )
        if raw.sw == SW.SM_DATA_INCORRECT:
            raise CardError(
                "the card's protected answer failed its MAC check", code=ErrorCode.CARD_AUTH_FAILED
            )
        if not raw.ok:
            raise self._error(self.profile.instructions.unwrap, raw.sw)
        # The SAM answers plain data || inner SW, then its own 90 00 (the "doubled 90 00").
        try:
            return ResponseApdu.from_bytes(raw.data)
        except ValueError:
            raise SamError("the SAM's unwrapped answer has no status word") from None

    def verify_signature(self, signature: bytes, signed: Iterable[bytes]) -> bool:
        """Run the SAM's signature steps over the signed data; True when the issuer signed it."""
        ins = self.profile.instructions.signature
        steps = self.profile.signature_steps
        chunk = self.profile.signature_feed_chunk
        self._send(ins, p1=steps.start)
        self._send(ins, signature, p1=steps.load_signature)
        for body in signed:
            for offset in range(0, len(body), chunk):
                self._send(ins, body[offset : offset + chunk], p1=steps.feed)
        self._send(ins, p1=steps.stop)
        response = self.processor.send_apdu(CommandApdu(self.profile.cla, ins, steps.verify, 0))
        if response.sw == SW.VERIFICATION_FAILED:
            return False
        if not response.ok:
            raise self._error(ins, response.sw)
        return True
