"""An integrated reader at a desk: the desk agent (a process) finds it on its serial port and
reports its family; a verification at the desk asks for the holder's fingerprint, and the
device's word comes back inside the desk's signed reading. Real TLS, real processes, pyserial
on the emulator's pty; no pcscd needed."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from ktp_gateway_dev.demo import DEMO_ACCOUNTABILITY, simulator_process
from ktp_gateway_dev.simulators.integrated import IntegratedReaderEmulator
from ktp_gateway_dev.stack.desks import AccessPoint, Desk
from tests.desks.conftest import plan_office, wait_until
from tests.reader.integrated import NAME, plugged, ports

DESK = "meja-sidik"


@dataclass
class Office:
    point: AccessPoint
    emulator: IntegratedReaderEmulator


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    planned = plan_office(tmp_path)
    point, simulator_port, password = planned.point, planned.simulator_port, planned.password
    serial = {"KTP_GATEWAY_DESK_READER__SERIAL_PORTS": json.dumps([ports(tmp_path)])}
    desk = Desk(DESK, tmp_path / DESK, [NAME], extra_env=serial)
    with ExitStack() as stack:
        emulator = stack.enter_context(plugged(tmp_path))
        stack.enter_context(simulator_process(simulator_port, password, tmp_path))
        stack.enter_context(point.process(tmp_path / "access-point.log"))
        desk.enrol(point, os.environ)
        stack.enter_context(desk.process(point, os.environ, tmp_path / "desk.log"))
        yield Office(point, emulator)


def _verify(office: Office, **body: object) -> tuple[int, dict[str, object]]:
    status, answer = office.point.post(
        "/v1/verifications", {**DEMO_ACCOUNTABILITY, "desk": DESK, "reader": NAME, **body}
    )
    return status, answer


def test_the_desk_reports_its_integrated_reader(office: Office) -> None:
    wait_until(lambda: bool(office.point.desk(DESK)["readers"]), seconds=10)
    [reader] = office.point.desk(DESK)["readers"]
    assert (reader["name"], reader["family"]) == (NAME, "integrated")
    assert reader["holder_checks"] == ["fingerprint"]


@pytest.mark.parametrize(
    ("finger", "outcome"), [("match", "verified"), ("no_match", "holder_mismatch")]
)
def test_a_holder_check_through_the_desk(office: Office, finger: str, outcome: str) -> None:
    wait_until(lambda: bool(office.point.desk(DESK)["readers"]), seconds=10)
    office.emulator.place("budi", finger=finger)  # type: ignore[arg-type]
    for _ in range(2):  # the second tap: the device is bound to this desk, and stays accepted
        status, answer = _verify(office, holder_check="fingerprint")
        assert status == 200, answer
        assert answer["outcome"] == outcome
        assert answer["holder_check"]["result"] == finger  # type: ignore[index]
        card = answer["card"]
        assert card["desk"] == DESK and card["signature_checked_by"] == ["device"]  # type: ignore[index]
