"""The login probe against the simulator process: a CALL_NIK with no NIK proves the login (and
the caller's IP) passed, spends no quota, and looks nobody up; each refusal is told apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ktp_gateway.dukcapil_client import DukcapilClient
from ktp_gateway.dukcapil_client.interpret import Answer
from ktp_gateway.dukcapil_client.probe import LoginVerdict, judge
from ktp_gateway.errors import ErrorCode

from .conftest import Simulator, settings_for, start_simulator
from .test_tls import _self_signed


async def test_accepted_login_spends_no_quota_and_sends_no_nik(sim: Simulator) -> None:
    sim.configure(quota_remaining=10)
    async with DukcapilClient(settings_for(sim)) as client:
        probe = await client.probe_login()
    assert (probe.verdict, probe.code, probe.status) == (
        LoginVerdict.ACCEPTED,
        ErrorCode.DUKCAPIL_REJECTED,
        200,
    )
    assert probe.server_date is not None and probe.peer_certificate is None
    stats = sim.stats()
    assert stats["outcomes"] == {"params_incomplete": 1} and stats["quota_remaining"] == 10


@pytest.mark.parametrize(
    ("settings", "code"),
    [
        ({"password": "salah"}, ErrorCode.DUKCAPIL_AUTH_FAILED),
        ({"ip_user": "10.9.9.9"}, ErrorCode.DUKCAPIL_IP_NOT_ALLOWED),
    ],
)
async def test_refused_login_is_named(sim: Simulator, settings: dict[str, str], code: str) -> None:
    async with DukcapilClient(settings_for(sim, **settings)) as client:
        probe = await client.probe_login()
    assert (probe.verdict, probe.code) == (LoginVerdict.REFUSED, code)


async def test_quota_used_up_is_a_limit_not_a_refusal(sim: Simulator) -> None:
    sim.configure(quota_remaining=0)
    async with DukcapilClient(settings_for(sim)) as client:
        probe = await client.probe_login()
    assert (probe.verdict, probe.code) == (LoginVerdict.LIMITED, ErrorCode.DUKCAPIL_QUOTA_EXHAUSTED)


def test_data_answered_to_no_nik_is_unknown() -> None:
    body = b'{"content": [{"NIK": "x", "NAMA_LGKP": "y"}], "numberOfElements": 1}'
    probe = judge(Answer(200, "application/json", body, date="Mon, 01 Jan 2024 00:00:00 GMT"), 0.1)
    assert (probe.verdict, probe.code) == (LoginVerdict.UNKNOWN, None)
    assert probe.server_date is not None and probe.server_date.year == 2024


@pytest.fixture(scope="module")
def https_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Simulator, Path]]:
    cert, key = _self_signed(tmp_path_factory.mktemp("probe-tls"))
    sim = start_simulator("--tls-cert", str(cert), "--tls-key", str(key), https=True)
    yield sim, cert
    sim.stop()


async def test_probe_over_https_carries_the_server_certificate(
    https_sim: tuple[Simulator, Path],
) -> None:
    sim, cert = https_sim
    async with DukcapilClient(settings_for(sim, ca_bundle=cert)) as client:
        probe = await client.probe_login()
    assert probe.verdict is LoginVerdict.ACCEPTED
    assert probe.peer_certificate is not None and len(probe.peer_certificate) > 100
