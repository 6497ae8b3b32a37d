"""The emulator side of vsmartcard's vpcd: serve one virtual card to a pcscd reader slot over TCP.

vpcd (the pcscd driver) listens on 127.0.0.1:35963 for the card slot "Virtual PCD 00 00" and on
35964 for the SAM slot "Virtual PCD 00 01"; a connected emulator is a card in that reader, a
closed connection a removed card. Frames are a 2-byte big-endian length and a payload; a 1-byte
payload is a control (power off, power on, reset: no reply; get ATR: reply the ATR), anything
longer a command APDU to answer (virtualsmartcard/src/vpcd/vpcd.c in frankmorgner/vsmartcard).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from enum import IntEnum
from pathlib import Path
from types import TracebackType
from typing import Protocol

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
CARD_PORT = 35963  # "Virtual PCD 00 00"
SAM_PORT = 35964  # "Virtual PCD 00 01"
LENGTH_BYTES = 2
TCP_TABLE = Path("/proc/net/tcp")
TCP_GONE = {"06", "07"}  # TIME_WAIT, CLOSE: the socket no longer holds the connection
TCP_ESTABLISHED, TCP_LISTEN = "01", "0A"
RELEASE_POLL_SECONDS = 0.02
PCSCD_POLL_SECONDS = 0.4  # pcsc-lite's PCSCLITE_STATUS_POLL_RATE: how often it asks vpcd
SW_NO_PRECISE_DIAGNOSIS = b"\x6f\x00"  # answered when a card returns nothing or fails
SW_WRONG_LENGTH = b"\x67\x00"  # answered to a 1-byte payload that is no vpcd control


class Control(IntEnum):
    """vpcd's one-byte control payloads (VPCD_CTRL_* in vpcd.h)."""

    POWER_OFF = 0
    POWER_ON = 1
    RESET = 2
    GET_ATR = 4


class VirtualSmartcard(Protocol):
    """What vpcd needs from an emulated card: an ATR, power events, and APDU answers."""

    @property
    def atr(self) -> bytes: ...

    def power_on(self) -> None: ...

    def power_off(self) -> None: ...

    def reset(self) -> None: ...

    def process(self, apdu: bytes) -> bytes:
        """Answer one command APDU with a response APDU (data + SW1 SW2); must not raise."""
        ...


class CardPulledError(Exception):
    """Raised by a card's `process` to drop the connection at once, as a card pulled mid-command."""


class VpcdUnavailable(ConnectionError):
    """vpcd did not accept a connection in time: pcscd is not running or has no vpcd reader."""


# The link of this process that holds each slot (host, port). vpcd serves one emulator per slot
# and leaves any further connection unaccepted in a backlog of one, so a link left behind (a
# teardown that raised before removing it) would make every later `start()` on that slot time
# out. A slot holds one card: placing a new one takes the old one out first, as a hand would.
_holders: dict[tuple[str, int], VpcdLink] = {}
_holders_lock = threading.Lock()


def _quickack(sock: socket.socket) -> None:
    # Linux clears TCP_QUICKACK after use; without it every APDU waits ~40 ms for a delayed ACK.
    quickack = getattr(socket, "TCP_QUICKACK", None)
    if quickack is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    """Exactly `size` bytes, or None when the peer closed the connection."""
    buffer = bytearray()
    while len(buffer) < size:
        _quickack(sock)
        chunk = sock.recv(size - len(buffer))
        if not chunk:
            return None
        buffer += chunk
    return bytes(buffer)


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(LENGTH_BYTES, "big") + payload


def _connection_open(local_port: int, remote_port: int) -> bool:
    """True while a socket with these ports (on this host) still holds its connection."""
    for line in TCP_TABLE.read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] in TCP_GONE:
            continue
        local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
        if (int(local, 16), int(remote, 16)) == (local_port, remote_port):
            return True
    return False


def _slot_state(port: int) -> str:
    """Why vpcd took no connection on `port`: nothing listens, or an emulator holds the slot."""
    try:
        rows = [line.split() for line in TCP_TABLE.read_text().splitlines()[1:]]
    except OSError:
        return "vpcd does not listen"
    states = {row[3] for row in rows if len(row) > 3 and int(row[1].rsplit(":", 1)[1], 16) == port}
    if TCP_LISTEN not in states:
        return "vpcd does not listen (is pcscd serving the vpcd readers?)"
    if TCP_ESTABLISHED in states:
        return (
            "vpcd listens but another emulator holds the slot "
            "(a virtual card or SAM left in it, by this or another process)"
        )
    return "vpcd listens but took no connection in time"


def _connect(host: str, port: int, timeout: float, retry_interval: float) -> socket.socket:
    """Connect to vpcd, retrying while it does not listen yet (pcscd still starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock = socket.create_connection((host, port), timeout=max(timeout, 0.1))
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise VpcdUnavailable(f"{host}:{port}: {_slot_state(port)}") from exc
            time.sleep(retry_interval)
            continue
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


class VpcdLink:
    """One virtual card in one vpcd reader slot: `start()` places it, `stop()` removes it."""

    def __init__(
        self,
        card: VirtualSmartcard,
        port: int = CARD_PORT,
        *,
        host: str = DEFAULT_HOST,
        connect_timeout: float = 10.0,
        retry_interval: float = 0.05,
    ) -> None:
        self.card = card
        self.port = port
        self.host = host
        self.connect_timeout = connect_timeout
        self.retry_interval = retry_interval
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._local_port: int | None = None  # of the last connection, to watch vpcd close it
        self._power_on_seen = False
        self._atr_after_power_on = False
        self._powered = threading.Event()

    def __enter__(self) -> VpcdLink:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def connected(self) -> bool:
        """True while the card sits in the reader (the connection is up)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        """Place the card: connect to vpcd (retrying until it listens) and serve in a thread."""
        with self._lock:
            if self.connected:
                raise RuntimeError(f"a card is already placed on port {self.port}")
            self._take_slot()
            sock = _connect(self.host, self.port, self.connect_timeout, self.retry_interval)
            self._sock = sock
            self._local_port = sock.getsockname()[1]
            self._power_on_seen = False
            self._powered.clear()
            self._thread = threading.Thread(
                target=self._serve, args=(sock,), name=f"vpcd-{self.port}", daemon=True
            )
            self._thread.start()
        log.debug("virtual card placed on vpcd port %d", self.port)

    def _take_slot(self) -> None:
        """Become the slot's holder; a link of this process still holding it is removed first."""
        with _holders_lock:
            left = _holders.get((self.host, self.port))
            _holders[(self.host, self.port)] = self
        if left is not None and left is not self and left.connected:
            log.warning("a virtual card left on vpcd port %d is removed first", self.port)
            left.stop()
            left.wait_released(2 * PCSCD_POLL_SECONDS + 1.0)

    def _leave_slot(self) -> None:
        with _holders_lock:
            if _holders.get((self.host, self.port)) is self:
                del _holders[(self.host, self.port)]

    def stop(self, timeout: float = 5.0) -> None:
        """Remove the card: close the connection and wait for the serving thread to end."""
        with self._lock:
            sock, thread = self._sock, self._thread
            self._sock = self._thread = None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            release = getattr(self.card, "release", None)
            if release is not None:
                release()  # a card blocked in a mute wait lets its thread go
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)
            self._powered.clear()
            self._leave_slot()
        log.debug("virtual card removed from vpcd port %d", self.port)

    def wait_powered(self, timeout: float) -> bool:
        """Block until pcscd has powered the card and read its ATR; False on timeout.

        pcscd polls vpcd every `PCSCD_POLL_SECONDS`; a caller connecting earlier may race it.
        """
        return self._powered.wait(timeout)

    def wait_released(self, timeout: float) -> bool:
        """After `stop()`: block until vpcd has closed its end, i.e. pcscd noticed the removal.

        A card placed before that is taken by pcscd for the old one (no removal, no power-up).
        vpcd closes its socket on its next poll; /proc/net/tcp shows when.
        """
        if self._local_port is None:
            return True
        deadline = time.monotonic() + timeout
        try:
            while _connection_open(self.port, self._local_port):
                if time.monotonic() >= deadline:
                    return False
                time.sleep(RELEASE_POLL_SECONDS)
        except OSError:  # no /proc: wait out one pcscd poll and a margin instead
            time.sleep(min(timeout, 2 * PCSCD_POLL_SECONDS))
        return True

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                header = _recv_exact(sock, LENGTH_BYTES)
                if header is None:
                    break
                payload = _recv_exact(sock, int.from_bytes(header, "big"))
                if payload is None:
                    break
                answer = self._answer(payload)
                if answer is not None:
                    sock.sendall(_frame(answer))
                if self._atr_after_power_on:
                    # Signal only once the ATR is sent: removing the card while pcscd still
                    # waits for it leaves pcscd believing a card is present but unpowered.
                    self._atr_after_power_on = False
                    self._powered.set()
        except CardPulledError:
            log.debug("virtual card on port %d pulled mid-command", self.port)
        except OSError as exc:
            log.debug("vpcd connection on port %d ended: %s", self.port, exc)
        except Exception:
            log.exception("virtual card on port %d failed; removing it", self.port)
        finally:
            self._powered.clear()
            sock.close()

    def _answer(self, payload: bytes) -> bytes | None:
        """The reply to one frame, or None for controls that vpcd expects no answer to."""
        if not payload:
            return None  # vpcd never sends empty frames; ignore rather than desynchronise
        if len(payload) == 1:
            return self._control(payload[0])
        try:
            answer = self.card.process(payload)
        except CardPulledError:
            raise  # _serve drops the connection: the card left the field mid-command
        except Exception:
            log.exception("virtual card raised on an APDU")
            return SW_NO_PRECISE_DIAGNOSIS
        # An empty answer would make vpcd treat the card as removed.
        return answer if len(answer) >= 2 else SW_NO_PRECISE_DIAGNOSIS

    def _control(self, code: int) -> bytes | None:
        if code == Control.GET_ATR:
            # pcscd reads the ATR right after powering the card: that completes the insertion.
            self._atr_after_power_on = self._power_on_seen
            return self.card.atr  # a card that cannot say its ATR ends the connection
        actions: dict[int, tuple[Callable[[], None], bool]] = {
            Control.POWER_ON: (self.card.power_on, True),
            Control.RESET: (self.card.reset, True),
            Control.POWER_OFF: (self.card.power_off, False),
        }
        if code not in actions:
            return SW_WRONG_LENGTH  # a 1-byte "APDU": vpcd waits for an answer
        action, powered = actions[code]
        try:
            action()
        except Exception:
            log.exception("virtual card raised on a vpcd control")
        self._power_on_seen = powered
        if not powered:
            self._powered.clear()
        return None
