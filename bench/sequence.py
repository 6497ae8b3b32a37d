"""The APDU sequence of one tap, recorded at the `Connection` edge: sizes and times, never data.

The gateway's own `read_card` runs in this process over the real pcscd, pyscard and emulators; a
recording connector wraps each `Connection` it hands out. Each exchange keeps the device, the
instruction byte, the command and response lengths and the round trip. The bytes read per file
are attributed by following the plain commands: card SELECTs of plain files, and the plain
command inside each SAM wrap (F3) for secure-messaging files. No APDU data leaves this module.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from ktp_gateway.reader.card.sam_hold import SamHold
from ktp_gateway.reader.card.tap import CardReading, read_card
from ktp_gateway.reader.smartcard.connection import Connection
from ktp_gateway.reader.smartcard.pairs import ReaderPair
from ktp_gateway.reader.smartcard.pcsc import PcscContext
from ktp_gateway.sam.activation_record import parse_record
from ktp_gateway.sam.binding import Activations
from ktp_gateway.specs import CardProfile, SamProfile, Specs
from ktp_gateway_dev.simulators.activation import VIRTUAL_AGENCY, record_json, virtual_records

HEADER = 4  # CLA INS P1 P2
STATUS_WORD = 2


@dataclass(frozen=True, slots=True)
class Exchange:
    """One APDU: which device, its instruction, bytes each way, seconds (no data)."""

    device: str  # "card" or "sam"
    ins: int
    command_bytes: int
    response_bytes: int
    seconds: float


@dataclass
class TapSequence:
    """Every exchange of one tap, in order, and the plain bytes read per card file (EF)."""

    exchanges: list[Exchange] = field(default_factory=list)
    file_bytes: dict[str, int] = field(default_factory=dict)
    file_reads: dict[str, int] = field(default_factory=dict)

    def count(self, device: str) -> int:
        return sum(1 for e in self.exchanges if e.device == device)

    def by_ins(self, device: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        for exchange in self.exchanges:
            if exchange.device == device:
                key = f"{exchange.ins:02X}"
                counts[key] = counts.get(key, 0) + 1
        return counts


class _Connector(Protocol):
    def connect(self, reader: str) -> Connection: ...


def _plain_command(apdu: bytes) -> tuple[int, bytes]:
    """INS and command data of a short APDU (case 3/4), for SELECT's file id."""
    if len(apdu) <= HEADER + 1:
        return (apdu[1] if len(apdu) > 1 else 0), b""
    length = apdu[HEADER]
    return apdu[1], apdu[HEADER + 1 : HEADER + 1 + length]


class _Attribution:
    """Follows SELECTs and READ BINARYs to count the plain bytes read from each file."""

    def __init__(self, card: CardProfile, sam: SamProfile, sequence: TapSequence) -> None:
        self._names = {spec.fid: name for name, spec in card.files.items()}
        self._select = card.commands.select.ins
        self._read = card.commands.read_binary.ins
        self._wrap, self._unwrap = sam.instructions.wrap, sam.instructions.unwrap
        self._sequence = sequence
        self._current: str | None = None
        self._pending_sm_read = False

    def card(self, command: bytes, response: bytes) -> None:
        ins, data = _plain_command(command)
        if command[0] & 0x0C:
            return  # a protected command: its plain form went through the SAM's wrap
        if ins == self._select:
            self._current = self._names.get(data)
        elif ins == self._read and len(response) >= STATUS_WORD:
            self._count(len(response) - STATUS_WORD)

    def sam(self, command: bytes, response: bytes) -> None:
        ins, data = _plain_command(command)
        if ins == self._wrap and len(data) > 1:
            plain_ins, plain_data = _plain_command(data)
            if plain_ins == self._select:
                self._current = self._names.get(plain_data)
            self._pending_sm_read = plain_ins == self._read
        elif ins == self._unwrap and self._pending_sm_read:
            # unwrap answers plain data || inner SW || the SAM's own SW
            self._count(max(0, len(response) - 2 * STATUS_WORD))
            self._pending_sm_read = False

    def _count(self, plain: int) -> None:
        name = self._current or "unknown"
        self._sequence.file_bytes[name] = self._sequence.file_bytes.get(name, 0) + plain
        self._sequence.file_reads[name] = self._sequence.file_reads.get(name, 0) + 1


class _RecordingConnection:
    def __init__(
        self,
        inner: Connection,
        device: str,
        sequence: TapSequence,
        attribution: _Attribution,
    ) -> None:
        self._inner, self._device = inner, device
        self._sequence, self._attribution = sequence, attribution

    @property
    def atr(self) -> bytes:
        return self._inner.atr

    def transmit(self, apdu: bytes) -> bytes:
        started = time.perf_counter()
        answer = self._inner.transmit(apdu)
        seconds = time.perf_counter() - started
        self._sequence.exchanges.append(
            Exchange(self._device, apdu[1] if len(apdu) > 1 else 0, len(apdu), len(answer), seconds)
        )
        if self._device == "card":
            self._attribution.card(apdu, answer)
        else:
            self._attribution.sam(apdu, answer)
        return answer

    def intact(self) -> bool:
        return self._inner.intact()

    def close(self) -> None:
        self._inner.close()


class RecordingConnector:
    """Hands out connections that record each exchange of the tap into `sequence`."""

    def __init__(self, inner: _Connector, pair: ReaderPair, specs: Specs) -> None:
        self._inner, self._pair = inner, pair
        self.sequence = TapSequence()
        self._attribution = _Attribution(
            specs.card_for(pair.profile), specs.sam_for(pair.profile), self.sequence
        )

    def connect(self, reader: str) -> Connection:
        device = "sam" if reader == self._pair.sam_reader else "card"
        return _RecordingConnection(
            self._inner.connect(reader), device, self.sequence, self._attribution
        )


def virtual_activations(specs: Specs) -> Activations:
    """The virtual reader units' signed activation records, as the gateway loads them."""
    records = [parse_record(record_json(r), specs, "bench") for r in virtual_records()]
    return Activations(records, agency=VIRTUAL_AGENCY)


def record_tap(pair: ReaderPair, specs: Specs, activations: Activations) -> TapSequence:
    """One tap through the gateway's own read path, recorded; the card must be on the reader.

    As the gateway taps: the SAM opened by a first tap and held, the second tap recorded."""
    hold = SamHold(specs, activations, hold_seconds=60.0)
    with PcscContext() as context:
        connector = RecordingConnector(context, pair, specs)
        try:
            read_card(connector, pair, specs, activations, sams=hold)
            connector.sequence.exchanges.clear()
            connector.sequence.file_bytes.clear()
            connector.sequence.file_reads.clear()
            reading: CardReading = read_card(connector, pair, specs, activations, sams=hold)
        finally:
            hold.let_go(pair.card_reader)
    if not reading.signature_verified:
        raise RuntimeError("the recorded tap did not verify the card's signature")
    return connector.sequence
