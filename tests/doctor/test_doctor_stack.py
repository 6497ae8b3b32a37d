"""The doctor on a healthy virtual set-up and on broken ones, through every real part: pcscd,
the virtual card and SAM reader pair, the Dukcapil simulator process, the CLI as a process.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from ktp_gateway.reader.service import ReaderService
from ktp_gateway.specs import load_specs
from ktp_gateway_dev.simulators.population import load_population
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.processes import free_port
from ktp_gateway_dev.stack.virtual import CARD_READER, VirtualReaderPair
from tests.api.conftest import Simulator
from tests.doctor.conftest import run_doctor
from tests.reader.activations import virtual_activations

pytestmark = [pytest.mark.pcsc, pytest.mark.usefixtures("every_pair")]

EVERY_CHECK = {
    "pcscd", "readers", "card", "sam", "sam_serial", "activation", "agreement", "dukcapil",
    "dukcapil_login", "clock", "dukcapil_tls", "settings", "secrets", "bind", "storage",
    "return_data", "versions",
}  # fmt: skip


def test_healthy_virtual_setup_is_all_ok(
    reader_pair: VirtualReaderPair, gateway_env: dict[str, str], simulator: Simulator
) -> None:
    run = run_doctor(gateway_env, "--json", "--expect-virtual")
    report = run.report
    not_ok = [line for line in report["lines"] if line["status"] != "ok"]
    assert (run.code, report["status"], not_ok) == (0, "ok", [])
    assert {line["check"] for line in report["lines"]} >= EVERY_CHECK
    [serial] = [line for line in run.lines("sam_serial") if line["reader"] == CARD_READER]
    assert "VIRTUAL-ACTIVATION-0001" in serial["summary"]
    # The login probe sent no NIK and spent no quota: Dukcapil said "parameters incomplete".
    assert simulator.admin("stats")["outcomes"] == {"params_incomplete": 1}
    print(f"healthy: doctor process {run.seconds:.2f} s, checks {report['seconds']:.2f} s")


def test_text_report_warns_of_the_test_stack_and_prints_no_personal_data(
    reader_pair: VirtualReaderPair, gateway_env: dict[str, str]
) -> None:
    card = reader_pair.place("budi")
    run = run_doctor(gateway_env)
    assert run.code == 1, run.stdout
    assert "WARN  readers          test-only emulator profile in use: vpcd-virtual" in run.stdout
    assert "synthetic (demo or test) agreement" in run.stdout
    assert f"{CARD_READER}: a KTP-el" in run.stdout
    assert "(exit status 1)" in run.stdout
    budi = load_population().by_key("budi")
    uid = card.image.uid.hex()
    printed = (run.stdout + run.stderr).lower()
    for value in (budi.nik, budi.nik[-8:], budi.nama_lgkp.lower(), budi.no_kk, uid):
        assert value not in printed


def test_pcscd_down(
    pcscd_service: PcscdService, reader_pair: VirtualReaderPair, gateway_env: dict[str, str]
) -> None:
    if not pcscd_service.started_here:
        pytest.skip("this run reuses a pcscd it did not start, so it cannot stop it")
    reader_pair.stop()
    pcscd_service.stop()
    try:
        run = run_doctor(gateway_env, "--json", "--expect-virtual")
    finally:
        pcscd_service.start()
        reader_pair.start()
    assert run.code == 2
    [pcscd] = run.lines("pcscd")
    assert pcscd["status"] == "fail" and "not running" in pcscd["summary"]
    assert "systemctl start pcscd" in pcscd["fix"]
    assert (run.status("readers"), run.status("slots")) == ("skip", "skip")
    assert run.status("dukcapil_login") == "ok"  # the rest of the doctor carries on
    print(f"pcscd down: doctor process {run.seconds:.2f} s")


def test_hung_pcscd_does_not_hang_the_doctor(
    pcscd_service: PcscdService, reader_pair: VirtualReaderPair, gateway_env: dict[str, str]
) -> None:
    if pcscd_service.pid is None:
        pytest.skip("this run reuses a pcscd it did not start, so it cannot pause it")
    os.kill(pcscd_service.pid, signal.SIGSTOP)  # accepts connections, answers nothing
    try:
        run = run_doctor(gateway_env, "--json", "--expect-virtual", "--timeout", "2")
    finally:
        os.kill(pcscd_service.pid, signal.SIGCONT)
    assert run.code == 2
    [readers] = run.lines("readers")
    assert readers["status"] == "fail" and readers["summary"] == "no answer within 2 s"
    assert run.status("slots") == "skip"
    assert run.seconds < 8, run.seconds
    print(f"hung pcscd: doctor process {run.seconds:.2f} s with --timeout 2")


def test_sam_missing(reader_pair: VirtualReaderPair, gateway_env: dict[str, str]) -> None:
    reader_pair.remove_sam()
    try:
        run = run_doctor(gateway_env, "--json", "--expect-virtual")
    finally:
        reader_pair.start()
    assert run.code == 2
    [sam] = [line for line in run.lines("sam") if line["reader"] == CARD_READER]
    assert sam["status"] == "fail" and "no SAM in the SAM slot" in sam["summary"]
    [serial] = [line for line in run.lines("sam_serial") if line["reader"] == CARD_READER]
    assert serial["status"] == "skip"


def test_a_sam_held_by_a_gateway_between_taps_is_skipped_not_failed(
    reader_pair: VirtualReaderPair, gateway_env: dict[str, str]
) -> None:
    service = ReaderService(load_specs(), virtual_activations(), sam_hold_seconds=60)
    try:
        reader_pair.place("budi")
        asyncio.run(service.read(CARD_READER))  # the SAM stays open, held by this service
        run = run_doctor(gateway_env, "--json", "--expect-virtual")
    finally:
        service.close()
    [serial] = [line for line in run.lines("sam_serial") if line["reader"] == CARD_READER]
    assert serial["status"] == "skip" and "held by another program" in serial["summary"]
    assert run.status("sam") == "ok"


def test_dukcapil_down(reader_pair: VirtualReaderPair, gateway_env: dict[str, str]) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    run = run_doctor(
        {**gateway_env, "KTP_GATEWAY_DUKCAPIL__BASE_URL": closed}, "--json", "--expect-virtual"
    )
    assert run.code == 2
    [dukcapil] = run.lines("dukcapil")
    assert dukcapil["status"] == "fail" and "[dukcapil_unavailable]" in dukcapil["summary"]
    assert {run.status(c) for c in ("dukcapil_login", "clock", "dukcapil_tls")} == {"skip"}
    assert run.status("sam_serial") == "ok"  # the readers are checked all the same


def test_bad_credentials(
    reader_pair: VirtualReaderPair, gateway_env: dict[str, str], tmp_path: Path
) -> None:
    wrong = tmp_path / "secrets" / "password"
    wrong.write_text("not-the-password")
    run = run_doctor(gateway_env, "--json", "--expect-virtual")
    assert run.code == 2
    assert run.status("dukcapil") == "ok"  # reachable: it answered, and refused the login
    [login] = run.lines("dukcapil_login")
    assert login["status"] == "fail" and "login failed" in login["summary"]
    assert "__PASSWORD" in login["fix"]


def test_config_problems_are_named_with_their_fix(
    reader_pair: VirtualReaderPair, gateway_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "secrets" / "token").chmod(0o644)
    run = run_doctor(gateway_env, "--json", "--expect-virtual")
    assert run.code == 2
    [secrets] = run.lines("secrets")
    assert secrets["status"] == "fail" and "readable by others" in secrets["summary"]
    assert secrets["fix"].endswith(
        "chmod 600 " + gateway_env["KTP_GATEWAY_DUKCAPIL__RETURNS__TOKEN_FILE"]
    )
    # Dukcapil's client refuses the too-open token file too: the login line says so.
    assert run.status("dukcapil_login") == "fail"

    public = {**gateway_env, "KTP_GATEWAY_API__HOST": "0.0.0.0"}  # no TLS: refused
    run = run_doctor(public, "--json", "--expect-virtual")
    assert run.code == 2
    [settings] = run.lines("settings")
    assert settings["status"] == "fail" and "needs TLS" in settings["summary"]
    assert run.status("bind") == "skip"
