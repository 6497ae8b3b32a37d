"""Every Dukcapil message the notes list, in both styles, becomes its typed outcome."""

from __future__ import annotations

import datetime as dt

import pytest

from ktp_gateway.dukcapil_client import DukcapilClient
from ktp_gateway.dukcapil_client.messages import DukcapilRefusal
from ktp_gateway.errors import ErrorCode

from .conftest import PEOPLE, Simulator, settings_for, start_simulator
from .test_client import expect

BUDI = PEOPLE["budi"].nik
C = ErrorCode

CODES = {
    "03": C.DUKCAPIL_AUTH_FAILED,
    "04": C.DUKCAPIL_IP_NOT_ALLOWED,
    "05": C.DUKCAPIL_QUOTA_EXHAUSTED,
    "06": C.DUKCAPIL_REJECTED,
    "07": C.DUKCAPIL_REJECTED,
    "08": C.DUKCAPIL_REJECTED,
    "09": C.DUKCAPIL_AUTH_FAILED,
    "10": C.DUKCAPIL_IP_NOT_ALLOWED,
    "11": C.DUKCAPIL_HOLDER_DECEASED,
    "12": C.DUKCAPIL_DUPLICATE_RECORDS,
    "13": C.DUKCAPIL_NOT_FOUND,
    "14": C.DUKCAPIL_RECORD_BLOCKED,
    "15": C.DUKCAPIL_NIK_FORMAT_REJECTED,
    "16": C.DUKCAPIL_REJECTED,
    "17": C.DUKCAPIL_AUTH_FAILED,
}

# The simulator's own wording for these (no public legacy text): the client must report it as
# an unknown response that carries the message, not guess.
LEGACY_UNSEEN = {"06", "08"}
# The legacy style words code 15 exactly as code 13 ("Data Tidak Ditemukan"): no record.
LEGACY_AS_NOT_FOUND = {"15"}


@pytest.mark.parametrize(("code", "expected"), sorted(CODES.items()))
async def test_each_refusal_code_and_message(
    client: DukcapilClient, sim: Simulator, code: str, expected: ErrorCode
) -> None:
    sim.arm({"mode": "refusal", "code": code, "count": 1})
    if sim.style == "legacy" and code in LEGACY_UNSEEN:
        expected = C.DUKCAPIL_UNKNOWN_RESPONSE  # no legacy text was ever seen for these
    if sim.style == "legacy" and code in LEGACY_AS_NOT_FOUND:
        expected = C.DUKCAPIL_NOT_FOUND
    error = await expect(expected, client.query_nik(BUDI))  # type: ignore[arg-type]
    assert isinstance(error, DukcapilRefusal)
    if sim.style == "coded":
        assert error.response_code == code


async def test_tcp_peer_off_the_allow_list_is_refused() -> None:
    # The body claims the allowed IP, but the request comes from 127.0.0.1, which is not on the
    # list: "IP Client Tidak Terdaftar".
    own = start_simulator("--check-peer-ip", allowed_ip="10.20.30.40")
    try:
        async with DukcapilClient(settings_for(own, ip_user="10.20.30.40")) as client:
            error = await expect(C.DUKCAPIL_IP_NOT_ALLOWED, client.query_nik(BUDI))  # type: ignore[arg-type]
        assert isinstance(error, DukcapilRefusal) and error.message == "IP Client Tidak Terdaftar"
    finally:
        own.stop()


async def test_quota_reset_from_retry_after(legacy: Simulator) -> None:
    legacy.configure(quota_remaining=0, quota_retry_after_seconds=3600)
    async with DukcapilClient(settings_for(legacy)) as client:
        error = await expect(C.DUKCAPIL_QUOTA_EXHAUSTED, client.query_nik(BUDI))  # type: ignore[arg-type]
    assert isinstance(error, DukcapilRefusal) and error.resets_at is not None
    left = (error.resets_at - dt.datetime.now(dt.UTC)).total_seconds()
    assert 3590 < left <= 3600
    assert error.retry_after_seconds is not None
    assert 3590 <= error.retry_after_seconds <= 3600


async def test_quota_reset_defaults_to_midnight_in_jakarta(legacy: Simulator) -> None:
    legacy.configure(quota_remaining=0)
    async with DukcapilClient(settings_for(legacy)) as client:
        error = await expect(C.DUKCAPIL_QUOTA_EXHAUSTED, client.query_nik(BUDI))  # type: ignore[arg-type]
    assert isinstance(error, DukcapilRefusal) and error.resets_at is not None
    local = error.resets_at.astimezone(dt.timezone(dt.timedelta(hours=7)))
    assert (local.hour, local.minute) == (0, 0)
    assert 0 < (error.resets_at - dt.datetime.now(dt.UTC)).total_seconds() <= 86400


async def test_quota_reset_unknown_when_not_configured(legacy: Simulator) -> None:
    legacy.configure(quota_remaining=0)
    async with DukcapilClient(settings_for(legacy, quota_resets_at=None)) as client:
        error = await expect(C.DUKCAPIL_QUOTA_EXHAUSTED, client.query_nik(BUDI))  # type: ignore[arg-type]
    assert isinstance(error, DukcapilRefusal)
    assert error.resets_at is None and error.retry_after_seconds is None
