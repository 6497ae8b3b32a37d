"""Integrated readers as the gateway serves them: found on serial ports, polled, tapped.

`scan` (from the serial monitor's thread, or on demand) finds the readers attached now and asks
each whether a card is on it. A found reader keeps its port open; a scan and a tap on it take
the same lock, so their frames never interleave, and a tap in progress is never polled. A port
that fails (unplugged) is closed and the reader forgotten: when the device comes back, the next
scan finds it again, on whatever path it gets (its name is its model and serial).

A tap is put card -> (finger, when a holder check is asked) -> demography. The device runs the
card session, its SAM and the match itself, so the gateway neither sees APDUs nor checks a
signature: `signature_checks` says "device", and `GET /v1/readers` says which family a reader is.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from ktp_gateway.domain import HolderAsk, HolderCheck, HolderResult
from ktp_gateway.errors import ErrorCode, GatewayError, ReaderError
from ktp_gateway.reader.card.tap import CardReading
from ktp_gateway.reader.serial.device import IntegratedDevice
from ktp_gateway.reader.serial.discovery import FoundReader, identify
from ktp_gateway.reader.serial.port import SerialPort, candidate_ports
from ktp_gateway.reader.smartcard.connection import TrafficStats
from ktp_gateway.specs.integrated import IntegratedReaderProfile

log = structlog.get_logger("ktp_gateway.reader.serial")

PUT_MESSAGE = "Tempelkan KTP-el"  # the device's display while it waits for the card
FINGER_MESSAGE = "Letakkan jari {finger}"  # ... and while it waits for the finger
FAMILY = "integrated"
# The vendor's finger and demography commands take the operator's id and NIK; the gateway sends
# the officer id of the request and no NIK (an officer's NIK is personal data it does not hold).
NO_OFFICER_NIK = "-"
# A port that answered as no reader of ours is asked again only after this long (or once it
# vanished and came back): another serial device costs one ack timeout, not one per scan.
RETRY_OTHER_PORT_SECONDS = 30.0
# Reader errors after which the port is no longer trusted: closed, the reader found again.
_PORT_LOST = frozenset(
    {ErrorCode.READER_UNAVAILABLE, ErrorCode.READER_NOT_FOUND, ErrorCode.READER_NOT_RESPONDING}
)


def device_id(found: FoundReader) -> str:
    """Hex standing for the device's SAM, which it never shows: the device itself (a desk's
    access point binds it to one desk, as it binds a PC/SC reader's SAM serial)."""
    return hashlib.sha256(f"{found.profile}:{found.info.serial}".encode()).hexdigest()[:32]


@dataclass(slots=True)
class _Attached:
    """A found reader with its open port and session (touched only under the reader's lock)."""

    found: FoundReader
    profile: IntegratedReaderProfile
    port: SerialPort
    device: IntegratedDevice
    card_present: bool = False


@dataclass(frozen=True, slots=True)
class IntegratedInfo:
    """One integrated reader as `GET /v1/readers` and the monitor see it."""

    name: str
    profile: str
    path: str
    card_present: bool
    busy: bool
    last_error: str | None


class IntegratedReaders:
    """The integrated readers of this machine, and taps on them."""

    def __init__(
        self,
        profiles: list[IntegratedReaderProfile],
        *,
        ports: tuple[str, ...] = (),
        card_timeout: float = 10.0,
        finger_timeout: float = 15.0,
        only: frozenset[str] = frozenset(),
    ) -> None:
        self.profiles = profiles
        self.ports = ports  # glob patterns replacing the profiles' own (tests, odd udev names)
        self.card_timeout, self.finger_timeout = card_timeout, finger_timeout
        self.only = only
        self.on_error: Callable[[str, str], None] | None = None
        self._attached: dict[str, _Attached] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._last_error: dict[str, str] = {}
        self._guard = threading.Lock()
        self._scan_lock = threading.Lock()  # one scan at a time (monitor, /v1/readers)
        self._scanned_at = -1e9  # monotonic
        # (path, profile) -> when the port was found not to hold a reader of that profile
        self._others: dict[tuple[str, str], float] = {}

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def _candidates(self, profile: IntegratedReaderProfile) -> list[str]:
        line = profile.serial
        if self.ports:
            line = line.model_copy(update={"port_patterns": list(self.ports)})
        return candidate_ports(line)

    # -- discovery and polling ---------------------------------------------------------------
    def scan(self) -> list[IntegratedInfo]:
        """Poll the known readers, find new ones, forget the gone; the state after it."""
        return self.refresh(0.0)

    def refresh(self, discovery_age: float) -> list[IntegratedInfo]:
        """Poll the known readers; look for new ones on the ports only when the last look is
        older than `discovery_age` seconds (a tap's choice: the glob of /dev is its dearest
        part, and the serial monitor looks every second anyway)."""
        with self._scan_lock:
            for name in list(self._attached):
                self._poll(name)
            if time.monotonic() - self._scanned_at >= discovery_age:
                self._discover()
                self._scanned_at = time.monotonic()
        return self.state()

    def _discover(self) -> None:
        used = {a.found.path for a in self._attached.values()}
        now = time.monotonic()
        seen: set[str] = set()
        for profile in self.profiles:
            for path in self._candidates(profile):
                seen.add(path)
                other = self._others.get((path, profile.id))
                if path in used or (other is not None and now - other < RETRY_OTHER_PORT_SECONDS):
                    continue
                if self._attach(path, profile):
                    used.add(path)
                else:
                    self._others[(path, profile.id)] = now
        self._others = {k: t for k, t in self._others.items() if k[0] in seen}

    def current(self, max_age: float) -> list[IntegratedInfo]:
        """The state, scanned again first if the last scan is older than `max_age` seconds."""
        if time.monotonic() - self._scanned_at > max_age:
            return self.scan()
        return self.state()

    def _attach(self, path: str, profile: IntegratedReaderProfile) -> bool:
        """Whether `path` holds a reader of `profile` (attached now)."""
        try:
            port = SerialPort(path, profile.serial)
        except ReaderError:
            return False  # gone, or another program holds it
        try:
            device = IntegratedDevice(port, profile)
            found = identify(device, path, profile)
            if (self.only and found.name not in self.only) or found.name in self._attached:
                raise ReaderError("not served here", code=ErrorCode.READER_NOT_FOUND)
            attached = _Attached(found, profile, port, device)
            attached.card_present = device.card_present()
        except ReaderError:
            port.close()
            return False
        with self._guard:
            self._attached[found.name] = attached
        log.info("integrated_reader_attached", reader=found.name, profile=profile.id)
        return True

    def _poll(self, name: str) -> None:
        lock = self._lock(name)
        if not lock.acquire(blocking=False):
            return  # in a tap: its state stands until the tap ends
        try:
            attached = self._attached.get(name)
            if attached is not None:
                attached.card_present = attached.device.card_present()
        except ReaderError as exc:
            if exc.code in _PORT_LOST or exc.code is ErrorCode.READER_FRAME_INVALID:
                self._detach(name, exc.code)
        finally:
            lock.release()

    def _detach(self, name: str, code: ErrorCode) -> None:
        with self._guard:
            attached = self._attached.pop(name, None)
        if attached is not None:
            attached.port.close()
            log.warning("integrated_reader_lost", reader=name, code=code.value)

    def state(self) -> list[IntegratedInfo]:
        with self._guard:
            attached = sorted(self._attached.items())
        return [
            IntegratedInfo(
                name=name,
                profile=a.profile.id,
                path=a.found.path,
                card_present=a.card_present,
                busy=self._lock(name).locked(),
                last_error=self._last_error.get(name),
            )
            for name, a in attached
        ]

    def names(self) -> set[str]:
        with self._guard:
            return set(self._attached)

    def close(self) -> None:
        with self._guard:
            attached, self._attached = list(self._attached.values()), {}
        for each in attached:
            each.port.close()

    # -- taps ----------------------------------------------------------------------------------
    def claim(self, reader: str | None) -> str:
        """Choose the reader for a tap and take its lock (`read` releases it)."""
        with self._guard:
            names = sorted(self._attached, key=lambda n: (not self._attached[n].card_present, n))
        if reader is not None:
            if reader not in names:
                raise ReaderError("no such integrated reader", code=ErrorCode.READER_NOT_FOUND)
            names = [reader]
        if not names:
            raise ReaderError("no integrated reader is attached", code=ErrorCode.READER_NOT_FOUND)
        for name in names:
            if self._lock(name).acquire(blocking=False):
                return name
        raise ReaderError("the reader is serving another request", code=ErrorCode.READER_BUSY)

    def release(self, name: str) -> None:
        self._lock(name).release()

    def read(
        self,
        name: str,
        wait_seconds: float,
        cancel: threading.Event | None = None,
        holder: HolderAsk | None = None,
    ) -> CardReading:
        """On the caller's thread, holding the reader's lock from `claim` (released here)."""
        try:
            attached = self._attached.get(name)
            if attached is None:
                raise ReaderError("the reader went away", code=ErrorCode.READER_NOT_FOUND)
            reading = self._tap(attached, wait_seconds, cancel, holder)
        except GatewayError as exc:
            self._last_error[name] = exc.code.value
            if self.on_error is not None:
                self.on_error(name, exc.code.value)
            if exc.code in _PORT_LOST:
                self._detach(name, exc.code)
            raise
        finally:
            self.release(name)
        self._last_error.pop(name, None)
        return reading

    def _tap(
        self,
        attached: _Attached,
        wait_seconds: float,
        cancel: threading.Event | None,
        holder: HolderAsk | None,
    ) -> CardReading:
        device = attached.device
        device.cancel = cancel
        started = time.perf_counter()
        device.open()
        try:
            fingers = device.put_card(wait_seconds, PUT_MESSAGE)
            waited = time.perf_counter() - started
            read_started = time.perf_counter()
            officer = holder.officer_id if holder is not None else "-"
            check = self._match(attached, fingers, holder) if holder is not None else None
            person = device.demography(self.card_timeout, officer, NO_OFFICER_NIK)
            seconds = time.perf_counter() - read_started
        except ReaderError as exc:
            # A device still waiting (cancelled) or gone would not answer the close in time:
            # it ends its own wait, and the next tap opens it again.
            if exc.code not in _PORT_LOST and not (cancel is not None and cancel.is_set()):
                self._close_quietly(device)
            raise
        finally:
            device.cancel = None
        self._close_quietly(device)
        attached.card_present = True
        return CardReading(
            reader=attached.found.name,
            person=person,
            photo=b"",  # the vendor API gives no photo
            signature_verified=True,  # the device refuses a card it cannot authenticate
            card_traffic=TrafficStats(),
            sam_traffic=TrafficStats(),
            seconds=seconds,
            waited_seconds=waited,
            signature_checks=("device",),
            sam_serial=device_id(attached.found),
            holder=check,
        )

    @staticmethod
    def _close_quietly(device: IntegratedDevice) -> None:
        with contextlib.suppress(ReaderError):
            device.close()

    def _match(
        self, attached: _Attached, fingers: tuple[int, ...], holder: HolderAsk
    ) -> HolderCheck:
        """The device's yes or no for the first finger the card holds (a timeout: no finger)."""
        if not fingers:  # the device could not read the card's finger codes
            if holder.required:
                raise ReaderError(
                    "the reader cannot read this card's finger codes",
                    code=ErrorCode.HOLDER_CHECK_UNAVAILABLE,
                )
            return HolderCheck(result=HolderResult.NOT_ATTEMPTED)
        finger = fingers[0]
        name = attached.profile.fingers.get(finger)
        message = FINGER_MESSAGE.format(finger=(name or str(finger)).replace("_", " "))
        try:
            matched = attached.device.verify_finger(
                self.finger_timeout, finger, holder.officer_id, NO_OFFICER_NIK, message
            )
        except ReaderError as exc:
            if exc.code is not ErrorCode.READER_NOT_RESPONDING:
                raise
            return HolderCheck(finger=name, result=HolderResult.TIMEOUT)
        result = HolderResult.MATCH if matched else HolderResult.NO_MATCH
        return HolderCheck(finger=name, result=result)
