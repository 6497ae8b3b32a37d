"""A virtual KTP-el reader: the SAM stays in its slot for the session, cards come and go.

For tests and the demo. pcscd must serve the vpcd readers (see `ktp_gateway_dev.stack.pcscd`); the
gateway then finds "Virtual PCD 00 00" / "Virtual PCD 00 01" (and the second unit, "Virtual PCD
2 00 00" / "... 01") like any reader pair and opens each SAM with its test-only activation record.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from types import TracebackType
from typing import Any

from ktp_gateway.errors import ReaderError
from ktp_gateway.reader.smartcard.pcsc import PcscContext
from ktp_gateway_dev.simulators import keys
from ktp_gateway_dev.simulators.card import CardVariant, VirtualKtpCard
from ktp_gateway_dev.simulators.keys import ReaderActivation, reader_activation
from ktp_gateway_dev.simulators.population import Person
from ktp_gateway_dev.simulators.sam import VirtualSam
from ktp_gateway_dev.simulators.vpcd import DEFAULT_HOST, VirtualSmartcard, VpcdLink
from ktp_gateway_dev.stack.pcscd import VIRTUAL_UNITS

log = logging.getLogger(__name__)
FIRST_UNIT, SECOND_UNIT = VIRTUAL_UNITS
CARD_READER = FIRST_UNIT.card_reader  # "Virtual PCD 00 00"
SAM_READER = FIRST_UNIT.sam_reader
# The second reader unit, for several readers at once (`VirtualReaderPair.second()`).
SECOND_CARD_READER = SECOND_UNIT.card_reader  # "Virtual PCD 2 00 00"
SECOND_SAM_READER = SECOND_UNIT.sam_reader


class VirtualReaderPair:
    """One virtual reader unit: a SAM held on the SAM port, a card placed on the card port."""

    def __init__(
        self,
        *,
        sam: VirtualSam | None = None,
        card_port: int = FIRST_UNIT.ports[0],
        sam_port: int = FIRST_UNIT.ports[1],
        host: str = DEFAULT_HOST,
        wait_seconds: float = 5.0,
        card_reader: str = CARD_READER,
        sam_reader: str = SAM_READER,
    ) -> None:
        self.sam = sam or VirtualSam.virtual()
        self.card_port = card_port
        self.card_reader = card_reader
        self.sam_reader = sam_reader
        self.host = host
        self.wait_seconds = wait_seconds
        self._sam_link = VpcdLink(self.sam, sam_port, host=host)
        self._card_link: VpcdLink | None = None
        self._card: VirtualKtpCard | None = None
        self._placed_events: int | None = None  # pcscd's event counter once the card was in
        self._sam_events: int | None = None  # and once the SAM was
        self._lock = threading.Lock()

    def __enter__(self) -> VirtualReaderPair:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @classmethod
    def second(cls, *, sam: VirtualSam | None = None, **kwargs: Any) -> VirtualReaderPair:
        """The second virtual reader unit ("Virtual PCD 2 ..."), with its own SAM and serial."""
        return cls(
            sam=sam or VirtualSam.virtual(serial=keys.sam_serial(2)),
            card_port=SECOND_UNIT.ports[0],
            sam_port=SECOND_UNIT.ports[1],
            card_reader=SECOND_CARD_READER,
            sam_reader=SECOND_SAM_READER,
            **kwargs,
        )

    @staticmethod
    def activation() -> ReaderActivation:
        """The test-only PCID/CONF the gateway needs to open this pair's SAM."""
        return reader_activation()

    @property
    def card(self) -> VirtualKtpCard | None:
        """The card in the card slot, if any."""
        link = self._card_link
        return self._card if link is not None and link.connected else None

    def start(self) -> None:
        """Insert the SAM and wait until pcscd has powered it; a SAM never powered is taken out.

        pcscd takes a SAM placed before its poll saw the last one go for that one (no removal,
        no power-up): a client's command to the old SAM can make vpcd drop it between two polls.
        So a SAM not powered in time is taken out, and placed once more once pcscd saw it go.
        `__exit__` does not run when `__enter__` raises: a SAM left connected here would hold
        vpcd's slot for the rest of the process.
        """
        if self._sam_link.connected:
            return
        for attempt in (1, 2):
            self._sam_link.start()
            try:
                self._wait(self._sam_link, "SAM")
            except TimeoutError:
                self.remove_sam()
                if attempt == 2:
                    raise
                log.warning("pcscd did not power the virtual SAM on port %d; placing it again",
                            self._sam_link.port)  # fmt: skip
                continue
            with contextlib.suppress(ReaderError):
                self._sam_events = self._events(self.sam_reader)
            return

    def stop(self) -> None:
        """Remove the card and the SAM; the SAM even when pcscd is slow to see the card go.

        A SAM left in its slot would hold vpcd's port and fail every later pair on this unit.
        """
        try:
            self.remove()
        finally:
            self.remove_sam()

    def place(self, person: Person | str, *, wait: bool = True, **variant: Any) -> VirtualKtpCard:
        """Tap a synthetic person's card (replacing any card); `variant` takes `CardVariant` fields.

        With `wait`, returns once pcscd has seen and powered the card, so a caller that connects
        right away does not race pcscd's polling.
        """
        card = VirtualKtpCard.for_person(person, variant=CardVariant(**variant))
        self.place_card(card, wait=wait)
        return card

    def place_card(self, card: VirtualSmartcard, *, wait: bool = True) -> None:
        """Tap any virtual card: a faulty one (`simulators.faults`) or one that is no KTP-el."""
        with self._lock:
            self._remove_locked()
            link = VpcdLink(card, self.card_port, host=self.host)
            link.start()
            self._card_link = link
            self._card = card if isinstance(card, VirtualKtpCard) else None
        if wait:
            self._wait(link, "card")
            self._placed_events = self._events(self.card_reader)  # once pcscd holds it

    def remove_sam(self) -> None:
        """Take the SAM out of its slot (a SAM that fell out or died); `start()` puts it back.

        Returns once pcscd's own poll has seen it go (or after `wait_seconds`), so that a SAM
        placed next is a new insertion to pcscd.
        """
        seen, self._sam_events = self._sam_events, None
        self._sam_link.stop()
        if self._sam_link.wait_released(self.wait_seconds):
            with contextlib.suppress(ReaderError):  # pcscd gone: no poll left to wait for
                self._slot_gone(self.sam_reader, seen)

    def remove(self) -> None:
        """Take the card off the reader; returns once pcscd has noticed (its next poll)."""
        with self._lock:
            self._remove_locked()

    def _remove_locked(self) -> None:
        link, self._card_link, self._card = self._card_link, None, None
        seen, self._placed_events = self._placed_events, None
        if link is not None:
            link.stop()
            # Like a real tap, the next card must come after pcscd saw this one leave.
            if not link.wait_released(self.wait_seconds) or not self._slot_gone(
                self.card_reader, seen
            ):
                raise TimeoutError(f"pcscd did not notice the card leaving port {link.port}")

    @staticmethod
    def _events(reader: str) -> int | None:
        """pcscd's event counter for a slot now (None: the slot is not listed)."""
        with PcscContext() as context:
            statuses = context.statuses([reader])
        return statuses[0].events if statuses else None

    def _slot_gone(self, reader: str, seen: int | None) -> bool:
        """Wait until pcscd's own poll has seen the card (or SAM) leave: the slot empty and its
        event counter moved on from `seen` (its value once the card was in; None: not known, the
        empty slot alone). A slot reported empty alone is not enough: after a failed reset pcscd
        reports it empty before its poll (0.4 s for vpcd) counts the removal, and a card placed
        in between is taken for the old one and never powered."""
        deadline = time.monotonic() + self.wait_seconds
        with PcscContext() as context:
            while time.monotonic() < deadline:
                statuses = context.statuses([reader])
                if not statuses:
                    return True
                if not statuses[0].card_present and statuses[0].events != seen:
                    return True
                if not statuses[0].card_present and seen is None:
                    return True
                time.sleep(0.02)
        return False

    def _wait(self, link: VpcdLink, what: str) -> None:
        if not link.wait_powered(self.wait_seconds):
            raise TimeoutError(
                f"pcscd did not power the virtual {what} on port {link.port} within "
                f"{self.wait_seconds:g} s: is pcscd serving the vpcd readers?"
            )
