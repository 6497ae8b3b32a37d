"""Cards that misbehave the way cards at a service counter do: pulled mid-read, mute, or foreign,
and the hostile card an attacker brings: answers far beyond what was asked, endless chaining.

Each wraps (or stands in for) a `VirtualSmartcard`, so a test places it on the virtual reader
like any card and the gateway meets the fault through the real pcscd and pyscard.
"""

from __future__ import annotations

import threading

from ktp_gateway_dev.simulators.vpcd import CardPulledError, VirtualSmartcard

MUTE_LIMIT_SECONDS = 120.0  # a mute card answers nothing for this long (or until it is removed)
FOREIGN_ATR = bytes.fromhex("3B8F8001804F0CA0000003060300010000000068")  # a PC/SC storage card
OK = bytes.fromhex("9000")
INS_GET_RESPONSE = 0xC0


class _Wrapped:
    """A card that behaves as `inner` does, except where a subclass's `process` says otherwise."""

    def __init__(self, inner: VirtualSmartcard) -> None:
        self.inner = inner

    @property
    def atr(self) -> bytes:
        return self.inner.atr

    def power_on(self) -> None:
        self.inner.power_on()

    def power_off(self) -> None:
        self.inner.power_off()

    def reset(self) -> None:
        self.inner.reset()


class FaultyCard(_Wrapped):
    """A card that is pulled after N APDUs, or stops answering after N APDUs."""

    def __init__(
        self,
        inner: VirtualSmartcard,
        *,
        pull_after: int | None = None,
        mute_after: int | None = None,
    ) -> None:
        super().__init__(inner)
        self.pull_after = pull_after
        self.mute_after = mute_after
        self.apdus = 0
        self._released = threading.Event()

    def release(self) -> None:
        """End a mute wait (the link calls it when the card is taken away)."""
        self._released.set()

    def process(self, apdu: bytes) -> bytes:
        self.apdus += 1
        if self.pull_after is not None and self.apdus > self.pull_after:
            raise CardPulledError
        if self.mute_after is not None and self.apdus > self.mute_after:
            self._released.wait(MUTE_LIMIT_SECONDS)
            raise CardPulledError
        return self.inner.process(apdu)


class ForeignCard:
    """A contactless card that is not a KTP-el: another ATR, and no KTP-el application."""

    atr = FOREIGN_ATR

    def power_on(self) -> None:
        pass

    def power_off(self) -> None:
        pass

    def reset(self) -> None:
        pass

    def process(self, apdu: bytes) -> bytes:
        return bytes.fromhex("6A82")  # file or application not found, whatever is asked


class HostileCard(_Wrapped):
    """A genuine card that answers some instructions out of profile, as an attacker's would.

    `oversized` maps an instruction byte to the length of the answer given instead (data of that
    many bytes, then 90 00; the plain and the secure-messaging forms alike, and the reader's GET
    UID is INS CA); `endless_chain` answers that instruction, and every GET RESPONSE after it,
    with 255 bytes and 61 FF, for ever.
    """

    def __init__(
        self,
        inner: VirtualSmartcard,
        *,
        oversized: dict[int, int] | None = None,
        endless_chain: int | None = None,
    ) -> None:
        super().__init__(inner)
        self.oversized = oversized or {}
        self.endless_chain = endless_chain
        self.apdus = 0

    def process(self, apdu: bytes) -> bytes:
        self.apdus += 1
        ins = apdu[1] if len(apdu) > 1 else -1
        if ins in self.oversized:
            return bytes(self.oversized[ins]) + OK
        if self.endless_chain is not None and ins in (self.endless_chain, INS_GET_RESPONSE):
            return bytes(range(255)) + bytes.fromhex("61FF")
        return self.inner.process(apdu)
