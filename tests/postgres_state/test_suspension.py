"""The suspension switch in PostgreSQL: one switch for every process, read without a round trip
per request, reaching every worker at once, and refusing access while it cannot be read."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from ktp_gateway.errors import ErrorCode, GatewayError
from ktp_gateway.postgres.database import Database
from ktp_gateway.postgres.suspension import TABLE, SharedSwitch
from ktp_gateway.privacy.agreement import (
    DEMO_AGREEMENT_FILE,
    AgreementGuard,
    AgreementState,
    load_agreement,
    open_switch,
)
from ktp_gateway_dev.stack.processes import free_port
from tests.dukcapil.conftest import Simulator
from tests.postgres_state.test_workers import NIK, WHO, _shared, _until_both_workers_answered
from tests.returns.gateway import Gateway

AGREEMENT = load_agreement(DEMO_AGREEMENT_FILE)


@pytest.fixture
def guards(dsn: str) -> Iterator[Callable[[], AgreementGuard]]:
    """Guards as separate processes hold them: each its own switch and watch connection."""
    made: list[AgreementGuard] = []

    def make() -> AgreementGuard:
        guard = AgreementGuard(AGREEMENT, None, switch=open_switch(AGREEMENT, None, dsn))
        made.append(guard)
        return guard

    yield make
    for guard in made:
        guard.switch.close()


def _until(condition: Callable[[], bool], seconds: float = 3.0) -> float:
    """Seconds it took `condition` to hold (fails after `seconds`)."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, "not within the deadline"
        time.sleep(0.005)
    return time.monotonic() - start


def _state(guard: AgreementGuard) -> AgreementState:
    return guard.standing().state


def test_a_suspension_by_one_process_reaches_the_others_within_milliseconds(
    guards: Callable[[], AgreementGuard],
) -> None:
    operator, first, second = guards(), guards(), guards()
    assert _state(first) is _state(second) is AgreementState.IN_FORCE
    operator.suspend("PKS diputus\x1b[31m karena pelanggaran (surat 12/2026)")
    took = max(
        _until(lambda: _state(first) is AgreementState.SUSPENDED),
        _until(lambda: _state(second) is AgreementState.SUSPENDED),
    )
    assert took < 1.0  # a notification, not the 5 s re-read
    print(f"\nsuspension reached both processes in {took * 1000:.1f} ms")  # for the notes
    with pytest.raises(GatewayError) as refused:
        second.require_in_force()
    assert refused.value.code is ErrorCode.AGREEMENT_SUSPENDED
    assert second.standing().reason == "PKS diputus [31m karena pelanggaran (surat 12/2026)"
    assert operator.resume() and not operator.resume()
    _until(lambda: _state(first) is _state(second) is AgreementState.IN_FORCE)


def test_each_agreement_has_its_own_switch(dsn: str, guards: Callable[[], AgreementGuard]) -> None:
    other = AGREEMENT.model_copy(
        update={"user": AGREEMENT.user.model_copy(update={"number": "X-2"})}
    )
    guard = guards()
    SharedSwitch(
        Database(dsn, what="switch", code=ErrorCode.SHARED_STATE_UNAVAILABLE), other.user.number
    ).suspend("another agreement")
    time.sleep(0.3)
    assert _state(guard) is AgreementState.IN_FORCE


def test_a_lost_connection_refuses_access_until_the_switch_is_read_again(
    dsn: str, guards: Callable[[], AgreementGuard]
) -> None:
    guard, operator = guards(), guards()
    assert _state(guard) is AgreementState.IN_FORCE
    with psycopg.connect(dsn, autocommit=True) as db:  # the server drops every other session
        db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND datname = current_database()"
        )
        insert = f"INSERT INTO {TABLE} (agreement, reason) VALUES (%s, 'while away')"  # noqa: S608
        db.execute(insert, (AGREEMENT.user.number,))  # type: ignore[arg-type]
    # No notification reached the dropped sessions: the reconnect reads the row itself.
    _until(lambda: operator.suspension_reason() == "while away", seconds=8)


def test_an_unreachable_database_refuses_with_a_typed_error_not_the_dsn(tmp_path: Path) -> None:
    dsn = f"host={tmp_path} port=1 dbname=ktp password=rahasia-uji"
    with pytest.raises(GatewayError) as unavailable:
        open_switch(AGREEMENT, None, dsn)
    assert unavailable.value.code is ErrorCode.SHARED_STATE_UNAVAILABLE
    assert "rahasia" not in unavailable.value.detail


def test_the_command_suspends_every_worker_of_a_running_gateway_without_a_restart(
    simulator: Simulator,
    dsn: str,
    tmp_path: Path,
) -> None:
    env = _shared(dsn, KTP_GATEWAY_LIMITS__OFFICER_BURST="1000",
                  KTP_GATEWAY_LIMITS__CLIENT_BURST="1000")  # fmt: skip
    with Gateway(free_port(), simulator, env, tmp_path / "gw.log", "--workers", "2") as gateway:
        assert set(_until_both_workers_answered(gateway)) == {200}

        def command(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(  # noqa: S603
                [sys.executable, "-m", "ktp_gateway.cli", "agreement", *args],
                capture_output=True, text=True, timeout=60, env={**os.environ, **gateway.env},
            )  # fmt: skip

        assert command("suspend", "--reason", "uji", "--operator", "OPS-01").returncode == 0
        assert not Path(gateway.env["KTP_GATEWAY_AGREEMENT__SUSPENSION_FILE"]).exists()
        time.sleep(0.5)  # a notification: milliseconds
        answers = [gateway.call("POST", "/v1/nik-lookups", {**WHO, "nik": NIK}) for _ in range(16)]
        assert {(status, body["code"]) for status, body in answers} == {
            (403, "agreement_suspended")
        }
        status, shown = gateway.call("GET", "/v1/agreement")
        assert (status, shown["state"], shown["suspension_reason"]) == (200, "suspended", "uji")
        assert command("resume", "--operator", "OPS-01").returncode == 0
        time.sleep(0.5)
        status, _ = gateway.call("POST", "/v1/nik-lookups", {**WHO, "nik": NIK})
        assert status == 200


def test_a_suspension_file_left_on_the_host_still_holds_and_resume_lifts_both(
    dsn: str, tmp_path: Path
) -> None:
    path = tmp_path / "agreement.suspended"
    path.write_text("ditulis sebelum PostgreSQL\n", encoding="utf-8")
    guard = AgreementGuard(AGREEMENT, path, switch=open_switch(AGREEMENT, path, dsn))
    try:
        assert guard.standing().reason == "ditulis sebelum PostgreSQL"  # fails closed
        guard.suspend("PKS diputus")
        assert guard.resume() and not path.exists()
        _until(lambda: _state(guard) is AgreementState.IN_FORCE)
        assert not guard.resume()
    finally:
        guard.switch.close()
