"""A reader's SAM kept open between taps: its serial and open are per SAM session, not per tap.

In the SAM profiles the serial (F7) and open (F0) commands start a SAM session that lasts until
the SAM is reset, and `reset` forgets one card's session before the next. Opening per tap cost a
connect, the status read of the SAM's ATR and those two commands: about 1 ms on the virtual
stack, and on a real reader the ATR again and two more exchanges at the SAM's 9600 baud.

So a reader's worker keeps its SAM connected, exclusively (no other program can send the open
SAM a command), until `hold_seconds` pass without a tap. Each tap checks the slot first (a SAM
pulled, swapped or reset since is connected afresh) and the activation record (its validity can
end while the SAM is held). The last card's session stays in the SAM until the next tap's
`reset`, out of every other program's reach. A tap that failed lets its SAM go with a slot
reset, as an idle hold, a new PC/SC context and shutdown do; a gateway that dies leaves nothing
open either: pcscd resets the slots of a connection whose process is gone. One `SamHold` serves
a reader service; a reader's entry is only touched on its worker thread, where its context is.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ktp_gateway.errors import ErrorCode, ReaderError, SamError
from ktp_gateway.reader.smartcard.connection import SLOT_EMPTIED, Connection, Device, processor_for
from ktp_gateway.reader.smartcard.pairs import ReaderPair
from ktp_gateway.sam.activation_record import ActivationRecord
from ktp_gateway.sam.session import SamSession
from ktp_gateway.specs import Specs


class Connector(Protocol):
    """What a tap needs from PC/SC: a connection to the card in a named reader."""

    def connect(self, reader: str) -> Connection: ...


class SamOpener(Protocol):
    """Checks that the SAM in `pair` is activated for it, then opens it (`sam.binding`)."""

    def open(self, sam: SamSession, pair: ReaderPair) -> ActivationRecord: ...

    def recheck(self, pair: ReaderPair, sam_serial: bytes) -> ActivationRecord: ...


@dataclass(slots=True)
class _Held:
    connection: Connection
    connector: weakref.ref[Connector]  # the context it belongs to (a new one: let it go)
    serial: bytes
    used_at: float


def _connect_sam(connector: Connector, pair: ReaderPair) -> Connection:
    """The SAM slot's connection; an empty slot is the SAM's absence, not a card's."""
    try:
        return connector.connect(pair.sam_reader)
    except ReaderError as exc:
        if exc.code in SLOT_EMPTIED:
            raise SamError(
                "no SAM answers in the reader's SAM slot", code=ErrorCode.SAM_UNAVAILABLE
            ) from None
        raise


class SamHold:
    """Open SAMs, one per reader, kept `hold_seconds` after their last tap (0: per tap)."""

    def __init__(
        self,
        specs: Specs,
        activation: SamOpener,
        hold_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.specs = specs
        self.activation = activation
        self.hold_seconds = hold_seconds
        self._clock = clock
        self._held: dict[str, _Held] = {}  # card reader -> its SAM, open
        self._closed = False

    def held(self, reader: str) -> bool:
        return reader in self._held

    def open(
        self, connector: Connector, pair: ReaderPair
    ) -> tuple[SamSession, ActivationRecord, bool]:
        """On the reader's worker: an open SAM for one tap (the one held, if still good), with
        its activation record in force, and whether it was opened now. Fresh traffic counts for
        each tap."""
        profile = self.specs.sam_for(pair.profile)
        held = self._held.get(pair.card_reader)
        if held is not None:
            if held.connector() is connector and held.connection.intact():
                try:
                    record = self.activation.recheck(pair, held.serial)
                except SamError:
                    self.let_go(pair.card_reader)
                    raise
                sam = SamSession(processor_for(held.connection, device=Device.SAM), profile)
                return sam, record, False
            self.let_go(pair.card_reader)  # pulled, swapped, reset, or another context's
        connection = _connect_sam(connector, pair)
        try:
            sam = SamSession(processor_for(connection, device=Device.SAM), profile)
            sam.check_atr(connection.atr)
            record = self.activation.open(sam, pair)
        except BaseException:
            connection.close()
            raise
        self._held[pair.card_reader] = _Held(
            connection, weakref.ref(connector), record.serial, self._clock()
        )
        return sam, record, True

    def done(self, pair: ReaderPair, *, ok: bool) -> None:
        """After a tap (its answer given): keep the SAM open, or, after a failure or with no
        hold, let it go with a slot reset. A kept SAM forgets the card's session at the next
        tap's `reset`; until then nobody else can reach it."""
        if ok and self.hold_seconds > 0 and not self._closed and pair.card_reader in self._held:
            self._held[pair.card_reader].used_at = self._clock()
            return
        self.let_go(pair.card_reader)

    def let_go(self, reader: str) -> None:
        """Disconnect the reader's SAM with a slot reset (on its worker)."""
        held = self._held.pop(reader, None)
        if held is not None:
            held.connection.close()

    def let_go_idle(self, reader: str) -> float:
        """Let the reader's SAM go if no tap used it for `hold_seconds`; else the seconds left
        (0: not held, or let go now)."""
        held = self._held.get(reader)
        if held is None:
            return 0.0
        left = held.used_at + self.hold_seconds - self._clock()
        if left <= 0:
            self.let_go(reader)
            return 0.0
        return left

    def close(self) -> set[str]:
        """At shutdown: hold nothing more (a tap still going lets its SAM go at its end); the
        readers whose SAM is held, for their workers to let go."""
        self._closed = True
        return set(self._held)
