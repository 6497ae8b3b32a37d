"""The host's role in tests: relay between SAM and card with hand-built APDUs.

It builds every APDU by hand from the specs instead of using `ktp_gateway.reader`, so the
emulators are checked against the protocol as documented, not against the host's encoder. The
same relay runs in-process (`card.process`) or through pcscd (pyscard's transmit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ktp_gateway.specs import load_specs
from ktp_gateway_dev.simulators.keys import reader_activation

Transmit = Callable[[bytes], bytes]
OK = 0x9000
SPECS = load_specs()
CARD = SPECS.cards["ktp-el"]
SAM = SPECS.sams["ktp-el-sam"]


def apdu(
    cla: int, ins: int, p1: int = 0, p2: int = 0, data: bytes = b"", le: int | None = None
) -> bytes:
    """A short command APDU (Le 256 is written 00)."""
    out = bytes((cla, ins, p1, p2))
    if data:
        out += bytes((len(data),)) + data
    if le is not None:
        out += bytes((le % 256,))
    return out


def split(response: bytes) -> tuple[bytes, int]:
    assert len(response) >= 2, f"response too short: {response.hex()}"
    return response[:-2], int.from_bytes(response[-2:], "big")


class HostRelay:
    """Plays the gateway host: opens the SAM, authenticates the card, reads through SM."""

    def __init__(self, card: Transmit, sam: Transmit) -> None:
        self.card = card
        self.sam_transmit = sam
        self.uid = b""
        self.card_control = b""

    def sam(
        self, ins: int, data: bytes = b"", p1: int = 0, p2: int = 0, le: int | None = None
    ) -> tuple[bytes, int]:
        return split(self.sam_transmit(apdu(SAM.cla, ins, p1, p2, data, le)))

    def card_cmd(self, raw: bytes) -> tuple[bytes, int]:
        return split(self.card(raw))

    def open(self, open_data: bytes | None = None) -> int:
        data = reader_activation().open_data() if open_data is None else open_data
        return self.sam(SAM.instructions.open, data)[1]

    def select(self, fid: bytes, *, secure: bool = False) -> int:
        header = CARD.commands.select
        command = apdu(header.cla, header.ins, header.p1, header.p2, fid)
        return (self.secure(command) if secure else self.card_cmd(command))[1]

    def read_binary(self, offset: int, length: int, *, secure: bool = False) -> tuple[bytes, int]:
        header = CARD.commands.read_binary
        command = apdu(header.cla, header.ins, offset >> 8, offset & 0xFF, le=length)
        return self.secure(command) if secure else self.card_cmd(command)

    def read_file(self, name: str, *, secure: bool = False) -> bytes:
        """Select an EF and read its body: 8 bytes first, then chunks of the spec's size."""
        assert self.select(CARD.files[name].fid, secure=secure) == OK
        head, sw = self.read_binary(0, CARD.read.first_read, secure=secure)
        assert sw == OK, f"{sw:04X}"
        total = 2 + int.from_bytes(head[:2], "big")
        content = bytearray(head[:total])
        while len(content) < total:
            chunk, sw = self.read_binary(
                len(content), min(CARD.read.chunk, total - len(content)), secure=secure
            )
            assert sw == OK, f"{sw:04X}"
            content += chunk
        return bytes(content[2:])

    def authenticate(self) -> int:
        """The notes' sequence; returns 9000 or the first failing status word."""
        uid, sw = self.card_cmd(CARD.uid.type_a_command)
        if sw != OK:
            return sw
        self.uid = CARD.uid.prefix + uid
        if (sw := self.select(CARD.application.df)) != OK:
            return sw
        self.card_control = self.read_file("card_control")
        if (sw := self.sam(SAM.instructions.reset)[1]) != OK:
            return sw
        header = CARD.commands.get_challenge
        challenge, sw = self.card_cmd(
            apdu(header.cla, header.ins, header.p1, header.p2, le=header.le)
        )
        if sw != OK:
            return sw
        p2 = SAM.authenticate_p2[len(self.card_control)]
        cryptogram, sw = self.sam(
            SAM.instructions.authenticate,
            self.card_control + self.uid + challenge,
            p2=p2,
            le=SAM.cryptogram_length,
        )
        if sw != OK:
            return sw
        ext = CARD.commands.external_authenticate
        answer, sw = self.card_cmd(apdu(ext.cla, ext.ins, ext.p1, ext.p2, cryptogram, ext.le))
        if sw != OK:
            return sw
        return self.sam(SAM.instructions.verify, answer)[1]

    def wrap(self, plain: bytes) -> bytes:
        protected, sw = self.sam(SAM.instructions.wrap, plain, le=256)
        assert sw == OK, f"wrap failed {sw:04X}"
        return protected

    def unwrap(self, response: bytes) -> tuple[bytes, int]:
        return self.sam(SAM.instructions.unwrap, response, le=256)

    def secure(self, plain: bytes) -> tuple[bytes, int]:
        """F3, send to the card, F4: the plain answer (a bare card status word passes through)."""
        answer = self.card(self.wrap(plain))
        if len(answer) == 2:
            return split(answer)
        unwrapped, sw = self.unwrap(answer)
        assert sw == OK, f"unwrap failed {sw:04X}"
        return split(unwrapped)

    def check_signature(self, signature: bytes, bodies: Iterable[bytes]) -> int:
        """The FA steps; returns the verify step's status word."""
        steps, ins = SAM.signature_steps, SAM.instructions.signature
        assert self.sam(ins, p1=steps.start)[1] == OK
        assert self.sam(ins, signature, p1=steps.load_signature)[1] == OK
        chunk = SAM.signature_feed_chunk
        for body in bodies:
            for offset in range(0, len(body), chunk):
                assert self.sam(ins, body[offset : offset + chunk], p1=steps.feed)[1] == OK
        assert self.sam(ins, p1=steps.stop)[1] == OK
        return self.sam(ins, p1=steps.verify)[1]
