"""The Dukcapil client against the real simulator process: every outcome has its typed code."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable

import pytest
from structlog.testing import capture_logs

from ktp_gateway.domain import Address, PersonData
from ktp_gateway.dukcapil_client import DukcapilClient, KeyStyle
from ktp_gateway.dukcapil_client.messages import DukcapilRefusal
from ktp_gateway.errors import ConfigurationError, DukcapilError, ErrorCode
from ktp_gateway.nik import InvalidNikError
from ktp_gateway_dev.simulators.dukcapil.faults import UNKNOWN_TEXT

from .conftest import PASSWORD, PEOPLE, Simulator, settings_for, start_simulator

BUDI = PEOPLE["budi"].nik
NOT_GRANTED = ["ISLAM", "DIPLOMA IV/STRATA I", "KEPALA KELUARGA", "99999", "UJICOBA-9901"]


async def expect(code: ErrorCode, call: Awaitable[PersonData], *secrets: str) -> DukcapilError:
    """Await `call`, require a DukcapilError with `code`, and no secret in its message."""
    with pytest.raises(DukcapilError) as caught:
        await call
    assert caught.value.code is code, caught.value.detail
    for secret in secrets:
        assert secret not in str(caught.value)
    return caught.value


class Recorder:
    def __init__(self) -> None:
        self.requests: list[tuple[str, float]] = []
        self.quota: list[int] = []

        self.breaker: list[str] = []
        self.dropped: list[tuple[str, str]] = []

    def on_request(self, outcome: str, seconds: float, operation: str = "nik") -> None:
        self.requests.append((outcome, seconds))

    def on_quota(self, remaining: int) -> None:
        self.quota.append(remaining)

    def on_breaker(self, state: str) -> None:
        self.breaker.append(state)

    def on_dropped(self, operation: str, field: str) -> None:
        self.dropped.append((operation, field))


@pytest.mark.parametrize("key_style", list(KeyStyle))
async def test_found_record_has_granted_fields_only(sim: Simulator, key_style: KeyStyle) -> None:
    async with DukcapilClient(settings_for(sim, key_style=key_style)) as client:
        person = await client.query_nik(BUDI)
    assert person == PersonData(
        nik=BUDI,
        nama_lengkap="BUDI CONTOH",
        jenis_kelamin="LAKI-LAKI",
        tempat_lahir="JAKARTA",
        tanggal_lahir=dt.date(1980, 5, 15),
        status_perkawinan="KAWIN",
        jenis_pekerjaan="KARYAWAN SWASTA",
        nama_ibu_kandung="SRI CONTOH IBUNDA",
        nama_ayah="HARTO CONTOH AYAHANDA",
        alamat=Address(
            alamat="JL. CONTOH RAYA NO. 1",
            rt="001",
            rw="002",
            dusun="-",
            kelurahan="CONTOH BARAT",
            kecamatan="CONTOH TENGAH",
            kabupaten="KOTA CONTOH",
            provinsi="DKI JAKARTA",
        ),
    )
    dump = person.model_dump_json()
    for value in [*NOT_GRANTED, PEOPLE["budi"].no_kk]:
        assert value not in dump
    assert sim.stats()["outcomes"] == {"found": 1}


async def test_parents_niks_never_reach_person_data(client: DukcapilClient) -> None:
    # andi's parents are in the population, so the registry sends their real synthetic NIKs.
    person = await client.query_nik(PEOPLE["andi"].nik)
    dump = person.model_dump_json()
    assert PEOPLE["siti"].nik not in dump
    assert PEOPLE["budi"].nik not in dump
    assert person.nama_ibu_kandung == "SITI CONTOH RAHAYU"


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("joko", ErrorCode.DUKCAPIL_NOT_FOUND),
        ("agus", ErrorCode.DUKCAPIL_HOLDER_DECEASED),
        ("rina", ErrorCode.DUKCAPIL_RECORD_BLOCKED),
    ],
)
async def test_registry_findings(client: DukcapilClient, key: str, code: ErrorCode) -> None:
    person = PEOPLE[key]
    error = await expect(code, client.query_nik(person.nik), person.nik, person.nama_lgkp)
    assert isinstance(error, DukcapilRefusal)


async def test_unregistered_but_valid_nik_is_not_found(client: DukcapilClient) -> None:
    await expect(ErrorCode.DUKCAPIL_NOT_FOUND, client.query_nik("3171010101909999"))


async def test_wrong_password_is_auth_failed(sim: Simulator) -> None:
    async with DukcapilClient(settings_for(sim, password="salah-sandi")) as client:
        await expect(ErrorCode.DUKCAPIL_AUTH_FAILED, client.query_nik(BUDI), "salah-sandi", BUDI)


async def test_wrong_user_is_auth_failed(sim: Simulator) -> None:
    async with DukcapilClient(settings_for(sim, user_id="SIAPA")) as client:
        await expect(ErrorCode.DUKCAPIL_AUTH_FAILED, client.query_nik(BUDI), PASSWORD)


async def test_caller_ip_not_on_allow_list(sim: Simulator) -> None:
    async with DukcapilClient(settings_for(sim, ip_user="10.20.30.40")) as client:
        await expect(ErrorCode.DUKCAPIL_IP_NOT_ALLOWED, client.query_nik(BUDI))


async def test_quota_is_reported_then_exhausted(sim: Simulator) -> None:
    sim.configure(quota_remaining=1)
    recorder = Recorder()
    async with DukcapilClient(settings_for(sim), observer=recorder) as client:
        with capture_logs() as logs:
            await client.query_nik(BUDI)
        await expect(ErrorCode.DUKCAPIL_QUOTA_EXHAUSTED, client.query_nik(BUDI))
    assert recorder.quota == [0, 0]
    assert [outcome for outcome, _ in recorder.requests] == ["ok", "dukcapil_quota_exhausted"]
    assert [e["event"] for e in logs] == ["dukcapil.quota_low"]


async def test_observer_times_each_query(legacy: Simulator) -> None:
    recorder = Recorder()
    legacy.configure(latency_ms=100)
    async with DukcapilClient(settings_for(legacy), observer=recorder) as client:
        await client.query_nik(BUDI)
        await expect(ErrorCode.DUKCAPIL_NOT_FOUND, client.query_nik(PEOPLE["joko"].nik))
    assert [outcome for outcome, _ in recorder.requests] == ["ok", "dukcapil_not_found"]
    assert all(0.1 <= seconds < 1 for _, seconds in recorder.requests)


async def test_a_failing_observer_does_not_break_a_lookup(legacy: Simulator) -> None:
    class Broken:
        def on_request(self, outcome: str, seconds: float, operation: str = "nik") -> None:
            raise RuntimeError("metrics down")

        def on_quota(self, remaining: int) -> None:
            raise RuntimeError("metrics down")

        def on_breaker(self, state: str) -> None:
            raise RuntimeError("metrics down")

        def on_dropped(self, operation: str, field: str) -> None:
            raise RuntimeError("metrics down")

    legacy.configure(quota_remaining=10)
    async with DukcapilClient(settings_for(legacy), observer=Broken()) as client:
        assert (await client.query_nik(BUDI)).nik == BUDI


@pytest.mark.parametrize(
    "nik",
    ["", "123", "31710115058099011", "3171013213809901", "9971011505809901", "ABCDEFGHIJKLMNOP"],
)
async def test_malformed_nik_never_reaches_dukcapil(
    legacy_client: DukcapilClient, legacy: Simulator, nik: str
) -> None:
    with pytest.raises(InvalidNikError):
        await legacy_client.query_nik(nik)
    assert legacy.stats()["requests"] == 0


FAULTS = [
    ({"mode": "html"}, ErrorCode.DUKCAPIL_UNAVAILABLE),  # a proxy's 502 page
    ({"mode": "html", "status": 200}, ErrorCode.DUKCAPIL_BAD_RESPONSE),
    ({"mode": "empty"}, ErrorCode.DUKCAPIL_BAD_RESPONSE),
    ({"mode": "broken_json"}, ErrorCode.DUKCAPIL_BAD_RESPONSE),
    ({"mode": "wrong_content_type"}, ErrorCode.DUKCAPIL_BAD_RESPONSE),
    ({"mode": "wrong_shape"}, ErrorCode.DUKCAPIL_BAD_RESPONSE),
    ({"mode": "http_500"}, ErrorCode.DUKCAPIL_UNAVAILABLE),
    ({"mode": "unknown_respon"}, ErrorCode.DUKCAPIL_UNKNOWN_RESPONSE),
    ({"mode": "timeout", "hang_seconds": 5}, ErrorCode.DUKCAPIL_TIMEOUT),
]


@pytest.mark.parametrize(("fault", "code"), FAULTS, ids=lambda v: str(v))
async def test_each_fault_has_its_code_and_the_next_call_succeeds(
    legacy_client: DukcapilClient, legacy: Simulator, fault: dict[str, object], code: ErrorCode
) -> None:
    legacy.arm({**fault, "count": 1})
    await expect(code, legacy_client.query_nik(BUDI), BUDI)
    assert (await legacy_client.query_nik(BUDI)).nik == BUDI
    assert legacy.stats()["outcomes"]["found"] == 1


async def test_unknown_response_carries_the_message_and_logs_it(
    legacy_client: DukcapilClient, legacy: Simulator
) -> None:
    legacy.fault("unknown_respon", count=1)
    with capture_logs() as logs:
        error = await expect(ErrorCode.DUKCAPIL_UNKNOWN_RESPONSE, legacy_client.query_nik(BUDI))
    assert isinstance(error, DukcapilRefusal)
    assert error.message == UNKNOWN_TEXT
    assert UNKNOWN_TEXT in error.detail
    assert logs == [
        {
            "event": "dukcapil.unknown_response",
            "message": UNKNOWN_TEXT,
            "response_code": None,
            "log_level": "warning",
        }
    ]


async def test_timeout_comes_within_the_configured_read_timeout(legacy: Simulator) -> None:
    legacy.fault("timeout", hang_seconds=10, count=1)
    async with DukcapilClient(settings_for(legacy, read_timeout_seconds=0.5)) as client:
        started = time.monotonic()
        await expect(ErrorCode.DUKCAPIL_TIMEOUT, client.query_nik(BUDI))
        assert time.monotonic() - started < 1.5
        assert (await client.query_nik(BUDI)).nik == BUDI
    # A read timeout is not retried: the request was sent and may have spent quota.
    assert legacy.stats()["requests"] == 2


async def test_wrong_consumer_path_is_a_bad_response(legacy: Simulator) -> None:
    async with DukcapilClient(settings_for(legacy, consumer_path="lain/ws")) as client:
        error = await expect(ErrorCode.DUKCAPIL_BAD_RESPONSE, client.query_nik(BUDI))
    assert "404" in error.detail


async def test_stopped_simulator_is_unavailable_after_one_retry() -> None:
    own = start_simulator()
    try:
        async with DukcapilClient(settings_for(own)) as client:
            assert (await client.query_nik(BUDI)).nik == BUDI
            own.stop()
            await asyncio.sleep(0.2)  # the loop sees the pooled connection close, as between calls
            with capture_logs() as logs:
                await expect(ErrorCode.DUKCAPIL_UNAVAILABLE, client.query_nik(BUDI), BUDI)
    finally:
        own.stop()
    assert [e["event"] for e in logs] == ["dukcapil.retry"]
    assert logs[0]["reason"] == "connect"


async def test_a_call_on_a_connection_closed_under_it_is_not_retried() -> None:
    """The request may have been written before the close was seen: never sent twice."""
    own = start_simulator()
    try:
        async with DukcapilClient(settings_for(own)) as client:
            assert (await client.query_nik(BUDI)).nik == BUDI
            own.stop()  # no await in between: the pool still holds the connection as open
            with capture_logs() as logs:
                await expect(ErrorCode.DUKCAPIL_UNAVAILABLE, client.query_nik(BUDI), BUDI)
    finally:
        own.stop()
    assert logs == []


async def test_no_retry_when_retries_is_zero(legacy: Simulator) -> None:
    settings = settings_for(legacy, base_url="http://127.0.0.1:9", retries=0)
    async with DukcapilClient(settings) as client:
        with capture_logs() as logs:
            await expect(ErrorCode.DUKCAPIL_UNAVAILABLE, client.query_nik(BUDI))
    assert logs == []


async def test_concurrency_is_bounded(legacy: Simulator) -> None:
    legacy.configure(latency_ms=200)
    async with DukcapilClient(settings_for(legacy, max_concurrency=2)) as client:
        people = await asyncio.gather(*(client.query_nik(BUDI) for _ in range(6)))
    assert len(people) == 6
    assert legacy.stats()["max_in_flight"] == 2


async def test_client_refuses_to_start_without_credentials(legacy: Simulator) -> None:
    with pytest.raises(ConfigurationError) as caught:
        DukcapilClient(settings_for(legacy, password="", ip_user=""))
    assert "KTP_GATEWAY_DUKCAPIL__PASSWORD" in caught.value.detail
    assert "KTP_GATEWAY_DUKCAPIL__IP_USER" in caught.value.detail


async def test_logs_never_carry_the_nik_or_password(legacy: Simulator) -> None:
    legacy.configure(quota_remaining=1)
    async with DukcapilClient(settings_for(legacy, retries=1)) as client:
        with capture_logs() as logs:
            await client.query_nik(BUDI)
            for fault in ("unknown_respon", "html", "timeout"):
                legacy.fault(fault, count=1, hang_seconds=3)
                with pytest.raises(DukcapilError):
                    await client.query_nik(BUDI)
    text = repr(logs)
    assert logs
    assert BUDI not in text
    assert PASSWORD not in text
