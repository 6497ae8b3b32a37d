"""pyscard's thin layer for the stack tests (the gateway's own pyscard module is the host's)."""

from __future__ import annotations

import time
from types import TracebackType

from smartcard import scard


class Pcsc:
    """One PC/SC context: list readers, connect, transmit, watch a reader."""

    def __init__(self) -> None:
        hresult, self.context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        assert hresult == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(hresult)
        self.handles: list[int] = []

    def __enter__(self) -> Pcsc:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for handle in self.handles:
            scard.SCardDisconnect(handle, scard.SCARD_RESET_CARD)
        scard.SCardReleaseContext(self.context)

    def readers(self) -> list[str]:
        hresult, readers = scard.SCardListReaders(self.context, [])
        assert hresult == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(hresult)
        return list(readers)

    def connect(self, reader: str) -> Slot:
        hresult, handle, protocol = scard.SCardConnect(
            self.context,
            reader,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if hresult != scard.SCARD_S_SUCCESS:
            raise ConnectionError(hresult)
        self.handles.append(handle)
        return Slot(handle, protocol)

    def card_present(self, reader: str) -> bool:
        hresult, states = scard.SCardGetStatusChange(
            self.context, 0, [(reader, scard.SCARD_STATE_UNAWARE)]
        )
        assert hresult in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT)
        return bool(states[0][1] & scard.SCARD_STATE_PRESENT)

    def wait_absent(self, reader: str, timeout: float) -> bool:
        """True once pcscd reports the reader empty (it polls vpcd about every 0.4 s)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.card_present(reader):
                return True
            time.sleep(0.05)
        return False


class Slot:
    """A connected card: raw transmit, the way the relay helper wants it."""

    def __init__(self, handle: int, protocol: int) -> None:
        self.handle = handle
        self.protocol = protocol

    @property
    def atr(self) -> bytes:
        hresult, _reader, _state, _protocol, atr = scard.SCardStatus(self.handle)
        assert hresult == scard.SCARD_S_SUCCESS
        return bytes(atr)

    def transmit(self, apdu: bytes) -> bytes:
        hresult, response = scard.SCardTransmit(self.handle, self.protocol, list(apdu))
        if hresult != scard.SCARD_S_SUCCESS:
            raise ConnectionError(scard.SCardGetErrorMessage(hresult))
        return bytes(response)
