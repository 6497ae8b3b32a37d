"""Desks and the access point as real processes: `ktp-gateway serve` with the desk channel,
two `ktp-gateway desk` agents on the two virtual reader units, real pcscd, real TLS."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from ktp_gateway.desk_agent.settings import DeskAgentSettings
from ktp_gateway_dev.demo import DEMO_ACCOUNTABILITY, simulator_process
from ktp_gateway_dev.stack.desks import CLI, AccessPoint, Desk, run_cli
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.processes import ManagedProcess
from ktp_gateway_dev.stack.virtual import VirtualReaderPair
from tests.desks.conftest import plan_office, wait_until

pytestmark = pytest.mark.pcsc


@dataclass
class Office:
    """One access point and two enrolled desks, each serving one virtual reader unit."""

    point: AccessPoint
    server: ManagedProcess
    desks: dict[str, Desk]
    agents: dict[str, ManagedProcess]
    simulator_port: int
    logs: Path


@pytest.fixture
def office(
    tmp_path: Path,
    pcscd_service: PcscdService,
    reader_pair: VirtualReaderPair,
    second_reader_pair: VirtualReaderPair,
) -> Iterator[Office]:
    planned = plan_office(tmp_path)
    point, simulator_port, password = planned.point, planned.simulator_port, planned.password
    desks = {
        "meja-1": Desk("meja-1", tmp_path / "meja-1", [reader_pair.card_reader]),
        "meja-2": Desk("meja-2", tmp_path / "meja-2", [second_reader_pair.card_reader]),
    }
    with ExitStack() as stack:
        stack.enter_context(simulator_process(simulator_port, password, tmp_path))
        server = stack.enter_context(point.process(tmp_path / "access-point.log"))
        agents = {}
        for name, desk in desks.items():
            desk.enrol(point, os.environ)
            agents[name] = stack.enter_context(
                desk.process(point, os.environ, tmp_path / f"{name}.log")
            )
        yield Office(point, server, desks, agents, simulator_port, tmp_path)


def test_each_desk_reports_its_own_reader_and_holds_no_dukcapil_setting(office: Office) -> None:
    status, body = office.point.get("/v1/desks")
    assert status == 200
    desks = {d["name"]: d for d in body["desks"]}
    assert set(desks) == {"meja-1", "meja-2"}
    for name, desk in desks.items():
        assert desk["connected"] and desk["state"] == "enrolled" and desk["version"]
        assert [r["name"] for r in desk["readers"]] == office.desks[name].readers
        (reader,) = desk["readers"]
        assert reader["family"] == "pcsc" and reader["sam_present"]
    status, body = office.point.get("/v1/desks/meja-404")
    assert status == 404 and body["code"] == "desk_not_found"
    # The desks hold no Dukcapil setting: their environment has none, their settings class none.
    for agent in office.agents.values():
        assert agent.process is not None
        environ = Path(f"/proc/{agent.process.pid}/environ").read_bytes().split(b"\0")
        names = {entry.split(b"=", 1)[0].decode() for entry in environ if entry}
        assert not any("DUKCAPIL" in name for name in names)
        assert {n for n in names if n.startswith("KTP_GATEWAY_")} <= {
            n for n in names if n.startswith("KTP_GATEWAY_DESK_")
        }
    assert "dukcapil" not in DeskAgentSettings.model_fields


def test_a_killed_desk_shows_disconnected_and_comes_back_when_restarted(office: Office) -> None:
    agent = office.agents["meja-1"]
    assert agent.process is not None
    agent.process.send_signal(signal.SIGKILL)
    wait_until(lambda: not office.point.desk("meja-1")["connected"], seconds=10)
    seen = office.point.desk("meja-1")
    assert seen["last_seen_at"] is not None and seen["readers"] == []
    assert office.point.desk("meja-2")["connected"]
    agent.stop()
    agent.start()  # ready once the access point lists it connected again
    assert office.point.desk("meja-1")["connected"]


def test_desks_reconnect_by_themselves_after_the_access_point_restarts(office: Office) -> None:
    office.server.stop()
    office.server.start()
    for name in office.desks:
        wait_until(lambda name=name: office.point.desk(name)["connected"], seconds=15)


def test_revoking_a_desk_on_the_access_point_cuts_it_off(office: Office) -> None:
    run_cli("desks", "revoke", "meja-2", env=office.point.env)
    wait_until(lambda: not office.point.desk("meja-2")["connected"], seconds=5)
    assert office.point.desk("meja-2")["state"] == "revoked"
    assert office.point.desk("meja-1")["connected"]


# -- taps routed to desks ---------------------------------------------------------------------


def _tap_body(desk: str, **extra: object) -> dict[str, object]:
    return {**DEMO_ACCOUNTABILITY, "desk": desk, "wait_seconds": 15, **extra}


def _remote_ports(pid: int) -> set[int]:
    """The remote TCP ports of a process's sockets (from /proc: what it is connected to)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


def test_a_tap_at_a_desk_is_verified_at_the_access_point(
    office: Office, second_reader_pair: VirtualReaderPair
) -> None:
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(office.point.post, "/v1/verifications", _tap_body("meja-2"))
        time.sleep(0.5)
        second_reader_pair.place("budi")
        status, body = answer.result(timeout=30)
    assert status == 200, body
    assert body["card"]["desk"] == "meja-2"
    assert body["card"]["reader"] == second_reader_pair.card_reader
    assert body["outcome"] == "verified" and body["card"]["signature_verified"]
    assert body["apdus"] == {"card": 35, "sam": 34}  # the same card session as on the gateway
    assert body["card"]["data"]["nik"] == body["registry"]["data"]["nik"]
    # Wrong names fail at once, before any registry call.
    started = time.monotonic()
    status, body = office.point.post("/v1/verifications", _tap_body("meja-404"))
    assert (status, body["code"]) == (404, "desk_not_found")
    other_unit = office.desks["meja-1"].readers[0]  # a reader meja-2 does not serve
    status, body = office.point.post("/v1/verifications", _tap_body("meja-2", reader=other_unit))
    assert (status, body["code"]) == (404, "reader_not_found")
    assert time.monotonic() - started < 3
    # Only the access point talks to Dukcapil: no desk ever connected to the simulator.
    for agent in office.agents.values():
        assert agent.process is not None
        ports = _remote_ports(agent.process.pid)
        assert office.point.channel_port in ports
        assert office.simulator_port not in ports


def test_a_busy_or_disconnected_desk_is_answered_at_once(office: Office) -> None:
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(
            office.point.post, "/v1/verifications", _tap_body("meja-1", wait_seconds=3)
        )
        time.sleep(1.0)
        started = time.monotonic()
        status, body = office.point.post("/v1/verifications", _tap_body("meja-1"))
        assert (status, body["code"]) == (409, "reader_busy")
        assert time.monotonic() - started < 2
        status, body = waiting.result(timeout=30)
        assert (status, body["code"]) == (409, "no_card")
    agent = office.agents["meja-1"]
    assert agent.process is not None
    agent.process.send_signal(signal.SIGKILL)
    wait_until(lambda: not office.point.desk("meja-1")["connected"], seconds=10)
    started = time.monotonic()
    status, body = office.point.post("/v1/verifications", _tap_body("meja-1"))
    assert (status, body["code"]) == (503, "desk_not_connected")
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("how", ["killed", "network-cut"])
def test_a_desk_lost_mid_tap_fails_the_tap_in_bounded_time(
    office: Office, reader_pair: VirtualReaderPair, how: str
) -> None:
    agent = office.agents["meja-1"]
    assert agent.process is not None
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(
            office.point.post, "/v1/verifications", _tap_body("meja-1", wait_seconds=30)
        )
        time.sleep(1.0)
        started = time.monotonic()
        # A cut network is a silent peer: no FIN, only missing pongs (SIGSTOP does just that).
        agent.process.send_signal(signal.SIGKILL if how == "killed" else signal.SIGSTOP)
        status, body = waiting.result(timeout=30)
        lost_after = time.monotonic() - started
    assert (status, body["code"]) == (503, "desk_unavailable")
    assert lost_after < 6  # within four heartbeats (1 s each here), not the 30 s card wait
    if how == "killed":
        agent.stop()
        agent.start()
    else:
        agent.process.send_signal(signal.SIGCONT)
        wait_until(lambda: office.point.desk("meja-1")["connected"], seconds=15)
    with ThreadPoolExecutor(1) as pool:  # the reader is free again after the reconnect
        answer = pool.submit(office.point.post, "/v1/verifications", _tap_body("meja-1"))
        time.sleep(0.5)
        reader_pair.place("budi")
        status, body = answer.result(timeout=30)
    assert status == 200, body


def test_cancelling_a_job_cancels_the_wait_at_the_desk(
    office: Office, reader_pair: VirtualReaderPair
) -> None:
    status, job = office.point.post(
        "/v1/verifications", _tap_body("meja-1", wait_seconds=60, mode="async")
    )
    assert status == 202, job
    time.sleep(1.0)
    status, _ = office.point.call("DELETE", f"/v1/verifications/{job['id']}")
    assert status == 204
    started = time.monotonic()
    with ThreadPoolExecutor(1) as pool:  # not reader_busy: the desk stopped waiting
        answer = pool.submit(office.point.post, "/v1/verifications", _tap_body("meja-1"))
        time.sleep(0.5)
        reader_pair.place("budi")
        status, body = answer.result(timeout=30)
    assert status == 200, body
    assert time.monotonic() - started < 10


def _events(office: Office, until: Callable[[dict[str, object]], bool]) -> list[dict[str, object]]:
    """Read the access point's SSE stream until an event satisfies `until` (or 20 s pass)."""
    request = urllib.request.Request(  # noqa: S310 - loopback URL built here
        f"{office.point.api_url}/v1/events",
        headers={"Authorization": f"Bearer {office.point.api_key}"},
    )
    seen: list[dict[str, object]] = []
    with urllib.request.urlopen(  # noqa: S310
        request, timeout=20, context=office.point.client_context()
    ) as stream:
        for raw in stream:
            line = raw.decode().strip()
            if line.startswith("data: "):
                seen.append(json.loads(line[6:]))
                if until(seen[-1]):
                    return seen
    raise AssertionError(f"the stream ended before the event: {seen}")


def test_desk_reader_events_reach_the_access_points_event_stream(
    office: Office, second_reader_pair: VirtualReaderPair
) -> None:
    with ThreadPoolExecutor(1) as pool:
        inserted = pool.submit(
            _events, office, lambda e: e["kind"] == "card_inserted" and e.get("desk") == "meja-2"
        )
        time.sleep(1.0)  # subscribed, with the current state first
        second_reader_pair.place("budi")
        seen = inserted.result(timeout=30)
    first = [e for e in seen if e.get("desk")]
    assert {"kind": "desk_connected", "desk": "meja-1"} in [
        {k: e[k] for k in ("kind", "desk")} for e in first
    ]
    reader = second_reader_pair.card_reader
    assert any(
        e["kind"] == "reader_attached" and e["reader"] == reader and e["desk"] == "meja-2"
        for e in first
    )
    assert seen[-1]["reader"] == reader


def _doctor(env: dict[str, str], *args: str) -> dict[str, dict[str, object]]:
    done = subprocess.run(  # noqa: S603 - argv built here
        [*CLI, "doctor", "--json", *args], env=env, capture_output=True, text=True, timeout=60
    )
    report = json.loads(done.stdout)
    return {line["check"]: line for line in report["lines"]}


def test_the_doctor_checks_a_desk_and_lists_desks_on_the_access_point(office: Office) -> None:
    desk = office.desks["meja-2"]
    lines = _doctor(desk.env(os.environ), "--desk")
    assert lines["desk_enrolment"]["status"] == "ok", lines["desk_enrolment"]
    assert "desk meja-2" in str(lines["desk_enrolment"]["summary"])
    assert lines["desk_access_point"]["status"] == "ok", lines["desk_access_point"]
    assert lines["readers"]["status"] in ("ok", "warn")
    assert not any(check.startswith("dukcapil") for check in lines)  # nothing of the registry
    assert office.point.desk("meja-2")["connected"]  # the probe did not take the agent's place
    point = _doctor(office.point.env)
    assert point["desks"]["status"] == "ok"
    assert "2 enrolled (meja-1, meja-2)" in str(point["desks"]["summary"])
    run_cli("desks", "revoke", "meja-2", env=office.point.env)
    lines = _doctor(desk.env(os.environ), "--desk")
    assert lines["desk_access_point"]["status"] == "fail"
