"""The simulator as integrators see it on the wire: envelope, quirks, refusals, admin."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ktp_gateway_dev.simulators.dukcapil import SimulatorConfig, Style, create_app

from .conftest import (
    CALLER_IP,
    CONSUMER_PATH,
    PASSWORD,
    PEOPLE,
    USER_ID,
    Simulator,
    start_simulator,
)

BUDI = PEOPLE["budi"].nik
UPPER = {"user_id": USER_ID, "password": PASSWORD, "ip_user": CALLER_IP}
CAMEL = {"userId": USER_ID, "password": PASSWORD, "ipUser": CALLER_IP}
PAGING = {"lastPage", "numberOfElements", "sort", "totalElements", "firstPage", "number", "size"}


def post(
    sim: Simulator, body: Any, *, path: str = CONSUMER_PATH, raw: bytes | None = None
) -> httpx.Response:
    url = f"{sim.base_url}/dukcapil/get_json/{path}/CALL_NIK"
    if raw is not None:
        return httpx.post(url, content=raw, headers={"Content-Type": "application/json"})
    return httpx.post(url, json=body)


def only_record(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) >= PAGING
    (record,) = body["content"]
    return dict(record)


def test_found_record_has_registry_quirks_and_ungranted_fields(legacy: Simulator) -> None:
    record = only_record(post(legacy, {"NIK": BUDI, **UPPER}))
    assert record["NAMA_LGKP"] == "BUDI CONTOH"
    assert record["TGL_LHR"] == "15-05-1980"
    assert record["NO_KEC"] == "1"
    assert record["NO_PROP"] == "31"
    for key in (
        "AGAMA",
        "GOL_DARAH",
        "PDDK_AKH",
        "NIK_IBU",
        "NIK_AYAH",
        "NO_KK",
        "STAT_HBKEL",
        "KODE_POS",
    ):
        assert key in record
    assert "RESPON" not in record


def test_camel_keys_are_accepted(legacy: Simulator) -> None:
    assert only_record(post(legacy, {"nik": BUDI, **CAMEL}))["NIK"] == BUDI


def test_no_quota_limiter_without_a_quota(legacy: Simulator) -> None:
    assert "quotaLimiter" not in post(legacy, {"NIK": BUDI, **UPPER}).json()


def test_quota_limiter_counts_down_then_refuses(legacy: Simulator) -> None:
    legacy.configure(quota_remaining=2)
    assert post(legacy, {"NIK": BUDI, **UPPER}).json()["quotaLimiter"] == 1
    assert post(legacy, {"NIK": BUDI, **UPPER}).json()["quotaLimiter"] == 0
    assert only_record(post(legacy, {"NIK": BUDI, **UPPER})) == {
        "RESPON": "Kuota Akses Hari ini telah Habis"
    }


@pytest.mark.parametrize(
    ("body", "legacy_text", "code"),
    [
        ({"NIK": BUDI, **UPPER, "password": "salah"}, "Login Gagal", "03"),
        ({"NIK": BUDI, **UPPER, "ip_user": "10.9.9.9"}, "IP Address Tidak Sesuai", "04"),
        ({**UPPER}, "Parameter Tidak Lengkap / Tidak Valid", "07"),
        ({"NIK": BUDI, **UPPER, "password": ""}, "User, password dan IP tidak boleh kosong", "09"),
        (
            {"NIK": BUDI, "user_id": USER_ID, "password": PASSWORD},
            "User, password dan IP tidak boleh kosong",
            "09",
        ),
        ({"NIK": PEOPLE["agus"].nik, **UPPER}, "Data Ditemukan, Meninggal Dunia", "11"),
        ({"NIK": PEOPLE["joko"].nik, **UPPER}, "Data Tidak Ditemukan", "13"),
        (
            {"NIK": PEOPLE["rina"].nik, **UPPER},
            "Data Ditemukan, Status Non Aktif silahkan hubungi Dinas Dukcapil",
            "14",
        ),
        ({"NIK": "12345", **UPPER}, "Data Tidak Ditemukan", "15"),
    ],
    ids=[
        "login",
        "ip",
        "no-nik",
        "empty-password",
        "no-ip",
        "deceased",
        "absent",
        "blocked",
        "format",
    ],
)
def test_refusals_in_both_styles(
    legacy_sim: Simulator, coded_sim: Simulator, body: dict[str, Any], legacy_text: str, code: str
) -> None:
    legacy_sim.reset()
    coded_sim.reset()
    assert only_record(post(legacy_sim, body)) == {"RESPON": legacy_text}
    record = only_record(post(coded_sim, body))
    assert record["RESPONSE_CODE"] == code
    assert record["RESPONSE_DESC"] == record["RESPONSE"]


def test_coded_deceased_comes_with_the_record(coded_sim: Simulator) -> None:
    coded_sim.reset()
    record = only_record(post(coded_sim, {"NIK": PEOPLE["agus"].nik, **UPPER}))
    assert record["RESPONSE_CODE"] == "11"
    assert record["NAMA_LGKP"] == "AGUS PERCOBAAN"


def test_coded_found_carries_code_01(coded_sim: Simulator) -> None:
    coded_sim.reset()
    record = only_record(post(coded_sim, {"NIK": BUDI, **UPPER}))
    assert record["RESPONSE_CODE"] == "01"
    assert record["NIK"] == BUDI


def test_a_broken_body_is_not_echoed(legacy: Simulator) -> None:
    response = post(
        legacy, None, raw=b'{"NIK": "' + BUDI.encode() + b'", "password": "' + PASSWORD.encode()
    )
    assert only_record(response) == {"RESPON": "Parameter Tidak Lengkap / Tidak Valid"}
    assert BUDI not in response.text
    assert PASSWORD not in response.text


def test_wrong_consumer_path_is_a_404_page(legacy: Simulator) -> None:
    response = post(legacy, {"NIK": BUDI, **UPPER}, path="lain/ws")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")


def test_stats_count_outcomes_only(legacy: Simulator) -> None:
    post(legacy, {"NIK": BUDI, **UPPER})
    post(legacy, {"NIK": PEOPLE["joko"].nik, **UPPER})
    stats = legacy.stats()
    assert stats["requests"] == 2
    assert stats["outcomes"] == {"found": 1, "not_found": 1}
    assert BUDI not in str(stats)


def test_fault_count_runs_out(legacy: Simulator) -> None:
    legacy.fault("http_500", count=2)
    assert post(legacy, {"NIK": BUDI, **UPPER}).status_code == 500
    assert legacy.stats()["fault"] == "http_500"
    assert post(legacy, {"NIK": BUDI, **UPPER}).status_code == 500
    assert legacy.stats()["fault"] == "none"
    assert post(legacy, {"NIK": BUDI, **UPPER}).status_code == 200


def test_html_fault_looks_like_a_proxy_page(legacy: Simulator) -> None:
    legacy.fault("html")
    response = post(legacy, {"NIK": BUDI, **UPPER})
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text


def test_reset_disarms_faults(legacy: Simulator) -> None:
    legacy.fault("empty")
    legacy.reset()
    assert post(legacy, {"NIK": BUDI, **UPPER}).status_code == 200
    assert legacy.stats()["fault"] == "none"


def test_admin_refuses_unknown_fault_modes(legacy: Simulator) -> None:
    with pytest.raises(httpx.HTTPStatusError):
        legacy.fault("meteor")


async def test_create_app_in_process() -> None:
    app = create_app(SimulatorConfig(style=Style.CODED, quota=3))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        response = await client.post(
            "/dukcapil/get_json/lpsk/ws/CALL_NIK",
            json={"NIK": PEOPLE["joko"].nik, "user_id": "UJICOBA-SIMULATOR",
                  "password": "sandi-ujicoba-simulator", "ip_user": "127.0.0.1"},
        )  # fmt: skip
        stats = (await client.get("/_simulator/stats")).json()
    body = response.json()
    assert body["content"][0]["RESPONSE_CODE"] == "13"
    assert body["quotaLimiter"] == 2
    assert stats["outcomes"] == {"not_found": 1}


def test_cli_credentials_from_environment_and_a_fault_from_start() -> None:
    env = {"DUKCAPIL_SIM_USER_ID": "DARI-ENV", "DUKCAPIL_SIM_PASSWORD": "sandi-dari-env"}
    own = start_simulator("--fault", "html", "--fault-count", "1", env=env)
    try:
        body = {
            "NIK": BUDI,
            "user_id": "DARI-ENV",
            "password": "sandi-dari-env",
            "ip_user": CALLER_IP,
        }
        assert post(own, body).status_code == 502
        assert only_record(post(own, body))["NIK"] == BUDI
        assert only_record(post(own, {"NIK": BUDI, **UPPER})) == {"RESPON": "Login Gagal"}
        assert "sandi-dari-env" not in str(own.process.args)
    finally:
        own.stop()


def test_cli_refuses_a_public_bind_without_allow_remote() -> None:
    from ktp_gateway_dev.simulators.dukcapil.__main__ import main

    assert main(["--host", "0.0.0.0"]) == 2
