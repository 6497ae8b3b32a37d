"""The integrated family in the operator's tools, as processes: `ktp-gateway readers` lists it,
`readers --watch` follows it, the doctor names it (each through pyserial on the emulator's pty).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ktp_gateway.privacy.agreement import DEMO_AGREEMENT_FILE
from ktp_gateway_dev.simulators.integrated import IntegratedReaderEmulator
from tests.doctor.conftest import run_doctor
from tests.reader.integrated import NAME, PROFILE, plugged, ports


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[IntegratedReaderEmulator]:
    with plugged(tmp_path) as device:
        yield device


def _env(folder: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KTP_GATEWAY_")}
    return {
        **clean,
        "KTP_GATEWAY_READER__SERIAL_PORTS": json.dumps([ports(folder)]),
        "KTP_GATEWAY_AGREEMENT__FILE": str(DEMO_AGREEMENT_FILE),
        "KTP_GATEWAY_AUDIT__DIR": str(folder / "audit"),
    }


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "ktp_gateway.cli", *args],
        env=_env(folder),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_readers_lists_the_integrated_reader_with_its_port(
    emulator: IntegratedReaderEmulator, tmp_path: Path
) -> None:
    emulator.place("budi")
    done = _cli(tmp_path, "readers", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {row["name"]: row for row in json.loads(done.stdout)["readers"]}
    row = rows[NAME]
    assert (row["family"], row["profile"], row["card_present"]) == ("integrated", PROFILE.id, True)
    assert row["port"] == emulator.path
    table = _cli(tmp_path, "readers")
    assert NAME in table.stdout and "integrated" in table.stdout


def test_readers_watch_follows_the_integrated_reader(
    emulator: IntegratedReaderEmulator, tmp_path: Path
) -> None:
    threading.Timer(1.5, emulator.place, args=("budi",)).start()
    done = _cli(tmp_path, "readers", "--watch", "--json", "--seconds", "4")
    assert done.returncode == 0, done.stderr[-2000:]
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    ours = [(e["kind"], e["family"]) for e in events if e["reader"] == NAME]
    assert ours[:2] == [("reader_attached", "integrated"), ("card_inserted", "integrated")]
    assert "BUDI" not in done.stdout  # state only, never card data


def test_the_doctor_names_the_integrated_reader(
    emulator: IntegratedReaderEmulator, tmp_path: Path
) -> None:
    env = {k: v for k, v in _env(tmp_path).items() if k.startswith("KTP_GATEWAY_")}
    run = run_doctor(env, "--json")
    [line] = run.lines("integrated")
    assert line["status"] == "ok", line
    assert NAME in line["summary"] and emulator.path in line["summary"]
    emulator.unplug()
    [line] = run_doctor(env, "--json").lines("integrated")
    assert line["status"] == "ok" and "none found on" in line["summary"]


@pytest.mark.parametrize(
    ("finger", "outcome"), [("match", "verified"), ("no_match", "holder_mismatch")]
)
def test_the_integrated_demo_runs_end_to_end(tmp_path: Path, finger: str, outcome: str) -> None:
    done = _cli(tmp_path, "demo", "--reader", "integrated", "--finger", finger, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    answer = json.loads(done.stdout)["response"]
    assert answer["outcome"] == outcome and answer["registry"]["status"] == "found"
    assert answer["holder_check"]["result"] == finger
    assert answer["card"]["signature_checked_by"] == ["device"]


def test_the_demo_refuses_a_finger_without_the_integrated_reader(tmp_path: Path) -> None:
    done = _cli(tmp_path, "demo", "--finger", "match")
    assert done.returncode != 0 and "--reader integrated" in done.stderr
