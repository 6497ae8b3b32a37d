"""Secure messaging through the SAM as one more APDU processor (same `send_apdu` shape).

Wrap the plain command with the SAM, send the protected command to the card, unwrap the card's
answer with the SAM. The layers below (chaining, raw transport) do not know it is there.
"""

from __future__ import annotations

from ktp_gateway.reader.smartcard.apdu import CommandApdu, ResponseApdu
from ktp_gateway.reader.smartcard.connection import ApduProcessor
from ktp_gateway.sam.session import SamSession


class SamRelayProcessor:
    """Send card commands protected by the SAM's session keys."""

    def __init__(self, card: ApduProcessor, sam: SamSession) -> None:
        self.card = card
        self.sam = sam

    def send_apdu(self, apdu: CommandApdu) -> ResponseApdu:
        protected = self.sam.wrap(apdu)
        answer = self.card.send_apdu(protected)
        if not answer.data:
            # A card that rejects a protected command may answer a bare status word (ISO 7816-4
            # 10.2): there is nothing to unwrap, the status word says what went wrong.
            return answer
        return self.sam.unwrap(answer)
