"""Circuit breaker and credential reloading, against the real simulator process."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from ktp_gateway.dukcapil_client import DukcapilClient
from ktp_gateway.dukcapil_client.breaker import BreakerState, CircuitOpenError
from ktp_gateway.dukcapil_client.credentials import write_secret
from ktp_gateway.errors import ConfigurationError, ErrorCode

from .conftest import PASSWORD, PEOPLE, USER_ID, Simulator, settings_for
from .test_client import Recorder, expect

BUDI = PEOPLE["budi"].nik


async def test_breaker_opens_fails_fast_then_probes_back(legacy: Simulator) -> None:
    recorder = Recorder()
    settings = settings_for(legacy, breaker_failures=3, breaker_open_seconds=0.3)
    legacy.fault("http_500", count=3)
    async with DukcapilClient(settings, observer=recorder) as client:
        for _ in range(3):
            await expect(ErrorCode.DUKCAPIL_UNAVAILABLE, client.query_nik(BUDI))
        assert client.breaker_state is BreakerState.OPEN
        error = await expect(ErrorCode.DUKCAPIL_CIRCUIT_OPEN, client.query_nik(BUDI))
        assert isinstance(error, CircuitOpenError) and error.retry_after_seconds is not None
        assert legacy.stats()["requests"] == 3  # failing fast: nothing sent
        await asyncio.sleep(0.35)
        assert (await client.query_nik(BUDI)).nik == BUDI  # the half-open probe succeeds
        assert client.breaker_state is BreakerState.CLOSED
    assert recorder.breaker == ["closed", "open", "half_open", "closed"]
    assert [o for o, _ in recorder.requests].count("dukcapil_circuit_open") == 1


async def test_a_failed_probe_opens_the_breaker_again(legacy: Simulator) -> None:
    settings = settings_for(legacy, breaker_failures=2, breaker_open_seconds=0.2)
    legacy.fault("html", count=3)
    async with DukcapilClient(settings) as client:
        for _ in range(2):
            await expect(ErrorCode.DUKCAPIL_UNAVAILABLE, client.query_nik(BUDI))
        await asyncio.sleep(0.25)
        await expect(ErrorCode.DUKCAPIL_UNAVAILABLE, client.query_nik(BUDI))  # the probe
        assert client.breaker_state is BreakerState.OPEN
        await expect(ErrorCode.DUKCAPIL_CIRCUIT_OPEN, client.query_nik(BUDI))
    assert legacy.stats()["requests"] == 3


async def test_one_probe_at_a_time_while_half_open(legacy: Simulator) -> None:
    settings = settings_for(legacy, breaker_failures=1, breaker_open_seconds=0.1)
    legacy.fault("timeout", count=1, hang_seconds=2)
    async with DukcapilClient(settings) as client:
        await expect(ErrorCode.DUKCAPIL_TIMEOUT, client.query_nik(BUDI))
        await asyncio.sleep(0.15)
        legacy.configure(latency_ms=200)
        results = await asyncio.gather(
            *(client.query_nik(BUDI) for _ in range(4)), return_exceptions=True
        )
    codes = sorted(getattr(r, "code", "ok") for r in results)
    assert codes == ["dukcapil_circuit_open"] * 3 + ["ok"]


async def test_refusals_and_findings_do_not_trip_the_breaker(legacy: Simulator) -> None:
    settings = settings_for(legacy, breaker_failures=1, password="salah")
    async with DukcapilClient(settings) as client:
        for _ in range(3):
            await expect(ErrorCode.DUKCAPIL_AUTH_FAILED, client.query_nik(BUDI))
        assert client.breaker_state is BreakerState.CLOSED


def _secret_files(tmp_path: Path, password: str) -> dict[str, Path]:
    files = {"user_id_file": tmp_path / "user", "password_file": tmp_path / "password"}
    write_secret(files["user_id_file"], USER_ID + "\n")
    write_secret(files["password_file"], password + "\n")
    return files


async def test_rotated_password_file_is_used_without_restart(
    legacy: Simulator, tmp_path: Path
) -> None:
    files = _secret_files(tmp_path, PASSWORD)
    settings = settings_for(legacy, user_id="", password="", **files)
    async with DukcapilClient(settings) as client:
        assert (await client.query_nik(BUDI)).nik == BUDI
        write_secret(files["password_file"], "sandi-kedaluwarsa")
        with capture_logs() as logs:
            await expect(ErrorCode.DUKCAPIL_AUTH_FAILED, client.query_nik(BUDI))
        write_secret(files["password_file"], PASSWORD)
        assert (await client.query_nik(BUDI)).nik == BUDI
    assert [e["event"] for e in logs] == ["dukcapil.credentials_reloaded"]
    assert "sandi-kedaluwarsa" not in repr(logs) and PASSWORD not in repr(logs)


async def test_a_secret_file_others_can_read_is_refused(legacy: Simulator, tmp_path: Path) -> None:
    files = _secret_files(tmp_path, PASSWORD)
    os.chmod(files["password_file"], 0o644)
    with pytest.raises(ConfigurationError) as caught:
        DukcapilClient(settings_for(legacy, password="", **files))
    assert "group or others" in caught.value.detail and PASSWORD not in caught.value.detail


async def test_a_missing_secret_file_fails_at_start(legacy: Simulator, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        DukcapilClient(settings_for(legacy, password="", password_file=tmp_path / "nope"))
