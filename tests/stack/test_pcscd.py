from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ktp_gateway_dev.stack import pcscd as module
from ktp_gateway_dev.stack.pcscd import (
    VIRTUAL_READERS,
    VPCD_PORTS,
    PcscdError,
    PcscdService,
    PcscdStatus,
    current_status,
)

SERVING = PcscdStatus(
    pids=(1234,), socket_answers=True, listening_ports=VPCD_PORTS, readers=VIRTUAL_READERS
)
FOREIGN = PcscdStatus(pids=(1234,), socket_answers=True, listening_ports=(), readers=("Other",))
NOTHING = PcscdStatus(pids=(), socket_answers=False, listening_ports=(), readers=())


def test_status_serves_only_with_readers_and_ports() -> None:
    assert SERVING.serves(VIRTUAL_READERS, VPCD_PORTS)
    assert not FOREIGN.serves(VIRTUAL_READERS, VPCD_PORTS)
    assert FOREIGN.running and not NOTHING.running


def test_listening_ports_are_read_without_connecting() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        assert server.getsockname()[1] in module.listening_ports()


def test_each_virtual_unit_gets_its_own_vpcd_driver(tmp_path: Path) -> None:
    conf_dir = module.render_reader_conf(runtime_dir=tmp_path / "run")
    first, second = [(conf_dir / name).read_text() for name in ("vpcd-unit1", "vpcd-unit2")]
    assert 'FRIENDLYNAME "Virtual PCD"' in first
    assert "DEVICENAME   /dev/null:0x8C7B" in first and "CHANNELID    0x8C7B" in first
    assert f"LIBPATH      {module.VPCD_DRIVER}" in first
    assert 'FRIENDLYNAME "Virtual PCD 2"' in second
    assert "DEVICENAME   /dev/null:0x8C7D" in second and "CHANNELID    0x8C7D" in second
    copy = Path(second.split("LIBPATH")[1].split()[0])
    assert copy != module.VPCD_DRIVER and copy.read_bytes() == module.VPCD_DRIVER.read_bytes()
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o700
    assert VIRTUAL_READERS == (
        "Virtual PCD 00 00",
        "Virtual PCD 00 01",
        "Virtual PCD 2 00 00",
        "Virtual PCD 2 00 01",
    )
    assert VPCD_PORTS == (35963, 35964, 35965, 35966)


def test_a_shared_runtime_folder_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "run"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(PcscdError, match="not a private folder"):
        module.render_reader_conf(runtime_dir=shared)


def test_a_serving_pcscd_is_reused_and_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "current_status", lambda: SERVING)
    service = PcscdService(binary=Path("/nonexistent/pcscd"))
    with service:
        assert not service.started_here
        assert service.pid is None


def test_a_foreign_pcscd_is_not_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "current_status", lambda: FOREIGN)
    with pytest.raises(PcscdError, match="only one pcscd"):
        PcscdService(start_timeout=0.1).start()


def test_missing_binary_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "current_status", lambda: NOTHING)
    with pytest.raises(PcscdError, match="not found"):
        PcscdService(binary=Path("/nonexistent/pcscd")).start()


@pytest.mark.pcsc
def test_service_starts_and_stops_its_own_pcscd(tmp_path: Path) -> None:
    if not module.PCSCD_BINARY.exists():
        pytest.skip("pcscd is not installed")
    if current_status().running:
        pytest.skip("a pcscd already runs; this test needs the machine to itself")
    service = PcscdService(log_path=tmp_path / "pcscd.log")
    with service:
        assert service.started_here and service.pid
        status = current_status()
        assert service.pid in status.pids
        assert set(VIRTUAL_READERS) <= set(status.readers)
    assert not current_status().running


@pytest.mark.pcsc
def test_a_second_service_reuses_the_running_one(pcscd_service: PcscdService) -> None:
    with PcscdService() as second:
        assert not second.started_here
    assert current_status().serves(VIRTUAL_READERS, VPCD_PORTS)
