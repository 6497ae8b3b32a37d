"""VpcdLink against a stand-in for vpcd: a TCP listener speaking vpcd's framing."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from ktp_gateway_dev.simulators.vpcd import Control, VpcdLink, VpcdUnavailable

ATR = bytes.fromhex("3B8880014B54502D454C010063")


class RecordingCard:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.answer = bytes.fromhex("9000")
        self.fail = False

    @property
    def atr(self) -> bytes:
        return ATR

    def power_on(self) -> None:
        self.events.append("on")

    def power_off(self) -> None:
        self.events.append("off")

    def reset(self) -> None:
        self.events.append("reset")

    def process(self, apdu: bytes) -> bytes:
        self.events.append(apdu.hex())
        if self.fail:
            raise RuntimeError("card bug")
        return self.answer


class FakeVpcd:
    """The reader side: accepts one emulator, sends frames, reads replies."""

    def __init__(self, port: int = 0) -> None:
        self.server = socket.create_server(("127.0.0.1", port))
        self.port = self.server.getsockname()[1]
        self.conn: socket.socket | None = None

    def accept(self) -> None:
        self.server.settimeout(5)
        self.conn, _ = self.server.accept()
        self.conn.settimeout(5)

    def send(self, payload: bytes) -> None:
        assert self.conn is not None
        self.conn.sendall(len(payload).to_bytes(2, "big") + payload)

    def receive(self) -> bytes:
        assert self.conn is not None
        header = self._exact(2)
        return self._exact(int.from_bytes(header, "big"))

    def transmit(self, payload: bytes) -> bytes:
        self.send(payload)
        return self.receive()

    def _exact(self, size: int) -> bytes:
        assert self.conn is not None
        data = b""
        while len(data) < size:
            chunk = self.conn.recv(size - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.server.close()


@pytest.fixture
def vpcd() -> Iterator[FakeVpcd]:
    fake = FakeVpcd()
    yield fake
    fake.close()


@pytest.fixture
def linked(vpcd: FakeVpcd) -> Iterator[tuple[FakeVpcd, RecordingCard, VpcdLink]]:
    card = RecordingCard()
    with VpcdLink(card, vpcd.port) as link:
        vpcd.accept()
        yield vpcd, card, link


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_controls_get_no_reply_and_atr_and_apdus_do(
    linked: tuple[FakeVpcd, RecordingCard, VpcdLink],
) -> None:
    vpcd, card, link = linked
    assert vpcd.transmit(bytes((Control.GET_ATR,))) == ATR  # presence poll
    assert not link.wait_powered(0)
    vpcd.send(bytes((Control.POWER_ON,)))
    assert vpcd.transmit(bytes((Control.GET_ATR,))) == ATR  # read right after power-up
    assert link.wait_powered(2)
    vpcd.send(bytes((Control.RESET,)))
    assert vpcd.transmit(bytes.fromhex("00A40000027F0A")) == bytes.fromhex("9000")
    vpcd.send(bytes((Control.POWER_OFF,)))
    assert vpcd.transmit(bytes((Control.GET_ATR,))) == ATR  # the link still answers in order
    assert card.events == ["on", "reset", "00a40000027f0a", "off"]
    assert not link.wait_powered(0)


def test_garbage_frames_do_not_break_the_link(
    linked: tuple[FakeVpcd, RecordingCard, VpcdLink],
) -> None:
    vpcd, card, link = linked
    vpcd.send(b"")  # empty frame: ignored
    assert vpcd.transmit(b"\x07") == bytes.fromhex("6700")  # 1-byte payload that is no control
    card.fail = True
    assert vpcd.transmit(bytes.fromhex("00B0000008")) == bytes.fromhex("6F00")
    card.fail, card.answer = False, b""
    assert vpcd.transmit(bytes.fromhex("00B0000008")) == bytes.fromhex("6F00")  # never empty
    card.answer = bytes(300) + b"\x90\x00"
    assert vpcd.transmit(bytes(5000)) == card.answer
    assert link.connected


def test_truncated_frame_then_close_ends_the_link_quietly(
    linked: tuple[FakeVpcd, RecordingCard, VpcdLink],
) -> None:
    vpcd, _, link = linked
    assert vpcd.conn is not None
    vpcd.conn.sendall(b"\x00\x10\x00")  # promises 16 bytes, sends 1
    vpcd.conn.close()
    deadline = time.monotonic() + 2
    while link.connected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not link.connected


def test_stop_removes_the_card(linked: tuple[FakeVpcd, RecordingCard, VpcdLink]) -> None:
    vpcd, _, link = linked
    link.stop()
    assert not link.connected
    with pytest.raises(EOFError):
        vpcd.receive()
    link.stop()  # idempotent


def test_release_waits_for_vpcd_to_close_its_end(
    linked: tuple[FakeVpcd, RecordingCard, VpcdLink],
) -> None:
    vpcd, _, link = linked
    link.stop()
    assert not link.wait_released(0.1)  # the reader side still holds the connection
    assert vpcd.conn is not None
    vpcd.conn.close()
    assert link.wait_released(2)


def test_a_placed_card_cannot_be_placed_twice(
    linked: tuple[FakeVpcd, RecordingCard, VpcdLink],
) -> None:
    _, _, link = linked
    with pytest.raises(RuntimeError):
        link.start()


def test_sockets_disable_delayed_acks(linked: tuple[FakeVpcd, RecordingCard, VpcdLink]) -> None:
    _, _, link = linked
    sock = link._sock
    assert sock is not None
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_start_retries_until_vpcd_listens() -> None:
    port = _free_port()
    holder: list[FakeVpcd] = []
    timer = threading.Timer(0.3, lambda: holder.append(FakeVpcd(port)))
    timer.start()
    link = VpcdLink(RecordingCard(), port, connect_timeout=5)
    try:
        link.start()
        assert link.connected
    finally:
        link.stop()
        timer.join()
        for fake in holder:
            fake.close()


def test_start_gives_up_when_nothing_listens() -> None:
    with pytest.raises(VpcdUnavailable):
        VpcdLink(RecordingCard(), _free_port(), connect_timeout=0.2).start()


def test_a_removed_card_can_be_placed_again(vpcd: FakeVpcd) -> None:
    link = VpcdLink(RecordingCard(), vpcd.port)
    link.start()
    vpcd.accept()
    link.stop()
    link.start()
    vpcd.accept()
    assert vpcd.transmit(bytes((Control.GET_ATR,))) == ATR
    link.stop()


def test_a_card_left_in_the_slot_is_removed_before_the_next_is_placed(
    linked: tuple[FakeVpcd, RecordingCard, VpcdLink],
) -> None:
    # vpcd serves one emulator per slot and leaves others unaccepted: a link a failed teardown
    # left behind would fail every later start on that slot with a connect timeout.
    vpcd, _, left = linked
    first = vpcd.conn
    assert first is not None
    follower = VpcdLink(RecordingCard(), vpcd.port)
    placing = threading.Thread(target=follower.start)
    placing.start()
    with pytest.raises(EOFError):
        vpcd.receive()  # the reader sees the left card go...
    first.close()  # ...and closes its end, as vpcd does on its next poll
    vpcd.accept()
    placing.join(5)
    try:
        assert follower.connected and not left.connected
        assert vpcd.transmit(bytes((Control.GET_ATR,))) == ATR
    finally:
        follower.stop()


def test_a_slot_held_by_another_emulator_is_named_in_the_error(vpcd: FakeVpcd) -> None:
    # The stand-in never accepts: the first connection fills its backlog, as a held vpcd slot.
    vpcd.server.close()
    vpcd.server = socket.create_server(("127.0.0.1", vpcd.port), backlog=0)
    holder = socket.create_connection(("127.0.0.1", vpcd.port), timeout=2)
    try:
        with pytest.raises(VpcdUnavailable, match="another emulator holds the slot"):
            VpcdLink(RecordingCard(), vpcd.port, connect_timeout=0.5).start()
    finally:
        holder.close()


def test_nothing_listening_is_named_in_the_error() -> None:
    with pytest.raises(VpcdUnavailable, match="does not listen"):
        VpcdLink(RecordingCard(), _free_port(), connect_timeout=0.2).start()
