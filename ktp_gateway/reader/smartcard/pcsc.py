"""The one module that imports pyscard: PC/SC contexts, reader listing and card connections.

It uses pyscard's thin `scard` layer so every PC/SC return code is seen and turned into a
typed gateway error here, at the edge, instead of pyscard's generic exceptions. pcsc-lite
contexts must not be shared between threads: each worker owns its `PcscContext`.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from types import TracebackType

from smartcard import scard

from ktp_gateway.errors import CardError, ErrorCode, ReaderError

_CODES: dict[int, ErrorCode] = {
    scard.SCARD_E_NO_SMARTCARD: ErrorCode.NO_CARD,
    scard.SCARD_W_REMOVED_CARD: ErrorCode.CARD_REMOVED,
    scard.SCARD_W_RESET_CARD: ErrorCode.CARD_REMOVED,
    scard.SCARD_W_UNPOWERED_CARD: ErrorCode.CARD_REMOVED,
    scard.SCARD_W_UNRESPONSIVE_CARD: ErrorCode.CARD_TIMEOUT,
    scard.SCARD_E_TIMEOUT: ErrorCode.CARD_TIMEOUT,
    scard.SCARD_E_PROTO_MISMATCH: ErrorCode.CARD_NOT_KTP_EL,
    scard.SCARD_W_UNSUPPORTED_CARD: ErrorCode.CARD_NOT_KTP_EL,
    scard.SCARD_E_SHARING_VIOLATION: ErrorCode.READER_BUSY,
    scard.SCARD_E_UNKNOWN_READER: ErrorCode.READER_NOT_FOUND,
}
_CARD_CODES = {
    ErrorCode.NO_CARD,
    ErrorCode.CARD_REMOVED,
    ErrorCode.CARD_TIMEOUT,
    ErrorCode.CARD_NOT_KTP_EL,
}
STATUS_PRESENT = 0x0004  # SCardStatus's SCARD_PRESENT (pcsclite.h); pyscard does not export it
REMOVAL_GRACE_SECONDS = 1.0  # covers pcsc-lite's 0.4 s presence poll of drivers like vpcd
WAIT_SLICE_MS = 250  # how often a wait for a card re-checks its deadline
SHARING_WAIT_SECONDS = 2.0  # another process holding the slot (a doctor run) lets go within this
SHARING_RETRY_SECONDS = 0.02
PNP_NOTIFICATION = "\\\\?PnP?\\Notification"  # pcsc-lite's pseudo-reader for attach/detach


def _error(hresult: int, operation: str) -> ReaderError:
    """One PC/SC return code -> one typed error; unknown codes keep their hex value."""
    code = _CODES.get(hresult, ErrorCode.READER_UNAVAILABLE)
    reason = scard.SCardGetErrorMessage(hresult)
    message = f"PC/SC {operation} failed: {reason} ({hresult & 0xFFFFFFFF:08X})"
    if code in _CARD_CODES:
        return CardError(message, code=code)
    return ReaderError(message, code=code)


def _check(hresult: int, operation: str) -> None:
    if hresult != scard.SCARD_S_SUCCESS:
        raise _error(hresult, operation)


@dataclass(frozen=True, slots=True)
class ReaderStatus:
    """A reader's state at one moment."""

    name: str
    card_present: bool
    atr: bytes
    in_use: bool
    # pcsc-lite's event counter (the state's high 16 bits): its own poll counts each insertion
    # and removal, so a change says pcscd itself has seen the card come or go.
    events: int = 0


@dataclass(frozen=True, slots=True)
class SlotEvent:
    """One reader's state word and ATR, as `watch` returns them.

    pcsc-lite keeps an event counter in the state's high 16 bits; it is passed back unchanged
    (`settled`) so the next `watch` waits for a real change instead of returning at once.
    """

    name: str
    state: int
    atr: bytes

    @property
    def present(self) -> bool:
        return bool(self.state & scard.SCARD_STATE_PRESENT)

    @property
    def gone(self) -> bool:
        return bool(self.state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE))

    @property
    def changed(self) -> bool:
        return bool(self.state & scard.SCARD_STATE_CHANGED)

    @property
    def settled(self) -> int:
        """The state to pass back to `watch` as "what I know now"."""
        return self.state & ~int(scard.SCARD_STATE_CHANGED)


class PcscConnection:
    """A `Connection` to the card or SAM in one reader slot (T=1 or T=0)."""

    def __init__(self, hcard: int, protocol: int, reader: str, *, reset_on_close: bool) -> None:
        self._hcard: int | None = hcard
        self._protocol = protocol
        self.reader = reader
        self._disposition = scard.SCARD_RESET_CARD if reset_on_close else scard.SCARD_LEAVE_CARD
        hresult, _name, _state, _proto, atr = scard.SCardStatus(hcard)
        _check(hresult, "status")
        self._atr = bytes(atr)

    @property
    def atr(self) -> bytes:
        return self._atr

    def transmit(self, apdu: bytes) -> bytes:
        if self._hcard is None:
            raise ReaderError("connection is closed", code=ErrorCode.READER_UNAVAILABLE)
        hresult, response = scard.SCardTransmit(self._hcard, self._protocol, list(apdu))
        if hresult != scard.SCARD_S_SUCCESS:
            error = _error(hresult, "transmit")
            # A card that leaves between two APDUs makes pcscd answer SCARD_E_NOT_TRANSACTED,
            # which alone reads as a reader outage: ask whether the card is still there first.
            raise self._removed_or(error) if error.code is ErrorCode.READER_UNAVAILABLE else error
        if len(response) < 2:
            # No status word: the card left mid-command (vpcd answers empty) or garbled it.
            raise self._removed_or(
                CardError("the card answered without a status word", code=ErrorCode.CARD_ERROR)
            )
        return bytes(response)

    def _removed_or(self, otherwise: ReaderError) -> ReaderError:
        """Removed, or `otherwise`? A driver may report a removal only at its next poll: wait."""
        assert self._hcard is not None  # noqa: S101 - checked by the caller
        deadline = time.monotonic() + REMOVAL_GRACE_SECONDS
        while True:
            hresult, _name, state, _proto, _atr = scard.SCardStatus(self._hcard)
            ok = hresult == scard.SCARD_S_SUCCESS
            gone = _CODES.get(hresult) in (ErrorCode.NO_CARD, ErrorCode.CARD_REMOVED)
            if gone or (ok and not state & STATUS_PRESENT):
                return CardError(
                    "the card left the reader mid-command", code=ErrorCode.CARD_REMOVED
                )
            if not ok or time.monotonic() >= deadline:
                return otherwise  # pcscd or the reader failed, or the card is still there
            time.sleep(0.05)

    def intact(self) -> bool:
        """Whether the card connected to is still in the slot, neither removed nor reset since
        (pcscd answers from its own state: no command reaches the card)."""
        if self._hcard is None:
            return False
        hresult, _name, state, _proto, _atr = scard.SCardStatus(self._hcard)
        return hresult == scard.SCARD_S_SUCCESS and bool(state & STATUS_PRESENT)

    def close(self) -> None:
        """Disconnect; a tap resets the card so no authenticated session outlives the request."""
        if self._hcard is not None:
            scard.SCardDisconnect(self._hcard, self._disposition)
            self._hcard = None


class PcscContext:
    """A PC/SC resource-manager context: list readers, watch them, connect to their cards."""

    def __init__(self) -> None:
        hresult, hcontext = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        _check(hresult, "establish context")
        self._hcontext: int | None = hcontext
        # A context kept by a thread is released when it is dropped, even without `release`:
        # pcscd serves a bounded number of contexts.
        self._release = weakref.finalize(self, scard.SCardReleaseContext, hcontext)

    def __enter__(self) -> PcscContext:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    @property
    def handle(self) -> int:
        if self._hcontext is None:
            raise ReaderError("PC/SC context released", code=ErrorCode.READER_UNAVAILABLE)
        return self._hcontext

    def release(self) -> None:
        if self._hcontext is not None:
            self._release()
            self._hcontext = None

    def list_readers(self) -> list[str]:
        """Reader names known to pcscd; none attached is an empty list, not an error."""
        hresult, readers = scard.SCardListReaders(self.handle, [])
        if hresult in (scard.SCARD_E_NO_READERS_AVAILABLE, scard.SCARD_E_READER_UNAVAILABLE):
            return []
        _check(hresult, "list readers")
        return list(readers)

    def statuses(self, readers: list[str]) -> list[ReaderStatus]:
        """Current state of the given readers, without blocking."""
        if not readers:
            return []
        states = [(name, scard.SCARD_STATE_UNAWARE) for name in readers]
        hresult, new_states = scard.SCardGetStatusChange(self.handle, 0, states)
        if hresult not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
            _check(hresult, "get status")
        return [
            ReaderStatus(
                name=name,
                card_present=bool(state & scard.SCARD_STATE_PRESENT),
                atr=bytes(atr),
                in_use=bool(state & scard.SCARD_STATE_EXCLUSIVE),
                events=(state >> 16) & 0xFFFF,
            )
            for name, state, atr in new_states
        ]

    def wait_for_card(
        self, reader: str, timeout: float, *, cancelled: threading.Event | None = None
    ) -> bool:
        """Block until a card is in `reader` or `timeout` seconds pass; True if one is there.

        `cancelled` is looked at every slice (250 ms): setting it ends the wait with
        `verification_cancelled`, so a cancelled job frees the reader at once.
        """
        deadline = time.monotonic() + timeout
        state = scard.SCARD_STATE_UNAWARE
        while True:
            if cancelled is not None and cancelled.is_set():
                raise ReaderError(
                    "the wait for a card was cancelled", code=ErrorCode.VERIFICATION_CANCELLED
                )
            remaining_ms = int(max(deadline - time.monotonic(), 0) * 1000)
            wait_ms = min(remaining_ms, WAIT_SLICE_MS)
            hresult, new_states = scard.SCardGetStatusChange(
                self.handle, wait_ms, [(reader, state)]
            )
            if hresult not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
                _check(hresult, "wait for card")
            if hresult == scard.SCARD_S_SUCCESS:
                _name, event_state, _atr = new_states[0]
                if event_state & scard.SCARD_STATE_UNKNOWN:
                    raise ReaderError("reader went away", code=ErrorCode.READER_NOT_FOUND)
                if event_state & scard.SCARD_STATE_PRESENT:
                    return True
                state = event_state & ~scard.SCARD_STATE_CHANGED
            if remaining_ms == 0:
                return False

    def watch(self, readers: list[tuple[str, int]], timeout_ms: int) -> list[SlotEvent] | None:
        """Block until a reader's state differs from the given one; None on timeout.

        `readers` pairs names with the state last seen (0: unknown, answer at once); include
        `PNP_NOTIFICATION` to be woken when readers are attached or detached.
        """
        hresult, new_states = scard.SCardGetStatusChange(self.handle, timeout_ms, readers)
        if hresult == scard.SCARD_E_TIMEOUT:
            return None
        _check(hresult, "watch readers")
        return [SlotEvent(name, state, bytes(atr)) for name, state, atr in new_states]

    def cancel(self) -> None:
        """Wake a `watch` or `wait_for_card` blocked in another thread (SCardCancel allows it)."""
        if self._hcontext is not None:
            scard.SCardCancel(self._hcontext)

    def connect(
        self, reader: str, *, exclusive: bool = True, reset_on_close: bool = True
    ) -> PcscConnection:
        """Connect to the card in `reader` with whichever of T=0 / T=1 it speaks.

        A tap connects exclusively, so no other program (a doctor run, a PC/SC tool) can slip a
        command into a SAM or card session; and resets on close. A slot another program holds is
        waited for briefly, then `reader_busy`. A look that opens no session (reading the SAM
        serial) connects shared and leaves the card as it was.
        """
        share = scard.SCARD_SHARE_EXCLUSIVE if exclusive else scard.SCARD_SHARE_SHARED
        deadline = time.monotonic() + SHARING_WAIT_SECONDS
        while True:
            hresult, hcard, protocol = scard.SCardConnect(
                self.handle, reader, share, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
            )
            if hresult != scard.SCARD_E_SHARING_VIOLATION or time.monotonic() >= deadline:
                break
            time.sleep(SHARING_RETRY_SECONDS)
        _check(hresult, "connect")
        return PcscConnection(hcard, protocol, reader, reset_on_close=reset_on_close)
