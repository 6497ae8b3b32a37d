"""Caller authentication through the HTTP interface: keys, 401s that reveal nothing, rotation."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from fastapi.testclient import TestClient
from pydantic import ValidationError

from ktp_gateway.api.app import create_app
from ktp_gateway.callers.clients import ClientDirectory
from ktp_gateway.config import ApiSettings, AuthSettings, Settings
from tests.api.callers import bearer, make_key, write_clients
from tests.api.conftest import ACCOUNTABLE, Simulator, make_settings


@pytest.fixture
def keys() -> dict[str, tuple[str, dict[str, object]]]:
    return {"case": make_key(), "other": make_key()}


@pytest.fixture
def clients_file(tmp_path: Path, keys: dict[str, tuple[str, dict[str, object]]]) -> Path:
    return write_clients(
        tmp_path / "clients.yaml",
        [
            {"name": "lpsk-case-app", "keys": [keys["case"][1]]},
            {"name": "lpsk-intake", "keys": [keys["other"][1]], "fields": ["nik", "nama_lengkap"]},
        ],
    )


@pytest.fixture
def authed(sim: Simulator, clients_file: Path) -> Iterator[TestClient]:
    settings = make_settings(sim.base_url).model_copy(
        update={"auth": AuthSettings(clients_file=clients_file)}
    )
    with TestClient(create_app(settings)) as client:
        yield client


def _unauthorized_body(response: object) -> dict[str, object]:
    body = dict(response.json())  # type: ignore[attr-defined]
    body.pop("request_id")
    return body


def test_each_client_is_known_by_its_own_key(
    authed: TestClient, keys: dict[str, tuple[str, dict[str, object]]]
) -> None:
    case = authed.get("/v1/caller", headers=bearer(keys["case"][0]))
    assert case.status_code == 200
    assert case.json()["client"] == "lpsk-case-app" and case.json()["auth"] == "api_key"
    other = authed.get("/v1/caller", headers={"X-API-Key": keys["other"][0]})
    assert other.json()["client"] == "lpsk-intake"
    assert other.json()["fields"] == ["nik", "nama_lengkap"]


@pytest.mark.parametrize(
    "headers_for",
    [
        pytest.param(lambda key: {"Authorization": f"bearer {key}"}, id="scheme-in-any-case"),
        pytest.param(lambda key: {"Authorization": f"Bearer   {key}  "}, id="spaces-around-key"),
        pytest.param(
            lambda key: {"Authorization": "Basic dXNlcjpwYXNz", "X-API-Key": key},
            id="other-scheme-then-header",
        ),
        pytest.param(lambda key: {"Authorization": "Bearer", "X-API-Key": key}, id="empty-bearer"),
    ],
)
def test_a_key_is_read_as_either_documented_header_presents_it(
    authed: TestClient,
    keys: dict[str, tuple[str, dict[str, object]]],
    headers_for: Callable[[str], dict[str, str]],
) -> None:
    """`Authorization: Bearer` first (any case), else `X-API-Key` (the contract's two schemes)."""
    response = authed.get("/v1/caller", headers=headers_for(keys["case"][0]))
    assert response.status_code == 200
    assert response.json()["client"] == "lpsk-case-app"


def test_the_bearer_header_wins_over_x_api_key(
    authed: TestClient, keys: dict[str, tuple[str, dict[str, object]]]
) -> None:
    headers = {**bearer(keys["other"][0]), "X-API-Key": keys["case"][0]}
    assert authed.get("/v1/caller", headers=headers).json()["client"] == "lpsk-intake"


def test_missing_and_wrong_credentials_get_the_same_401(
    authed: TestClient, keys: dict[str, tuple[str, dict[str, object]]], sim: Simulator
) -> None:
    real = keys["case"][0]
    wrong_secret = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    attempts = [
        {},
        bearer(wrong_secret),
        bearer("kgw_00000000_" + "A" * 43),
        bearer("not-a-key"),
        {"X-API-Key": wrong_secret},
        {"Authorization": f"Basic {real}"},
    ]
    bodies = []
    for headers in attempts:
        response = authed.post(
            "/v1/nik-lookups", json={**ACCOUNTABLE, "nik": "3171011505809901"}, headers=headers
        )
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")
        bodies.append(_unauthorized_body(response))
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["code"] == "unauthorized"
    assert sim.requests() == 0  # nothing reached Dukcapil


def test_the_contract_says_which_operations_need_a_key_as_the_app_enforces_it(
    authed: TestClient,
) -> None:
    """Security is written into the contract from the routers `app.py` authenticates: each
    operation listed with security refuses a caller without a key, each open one does not."""
    contract = authed.get("/openapi.json").json()
    checked = 0
    for path, operations in contract["paths"].items():
        url = re.sub(r"\{[^}]+\}", "x", path)
        for method, operation in operations.items():
            body = {} if method in ("post", "put", "patch") else None
            response = authed.request(method.upper(), url, json=body)
            assert (response.status_code == 401) == bool(operation["security"]), (method, path)
            checked += 1
    assert checked >= 16


def test_health_is_open_and_metrics_need_a_key(
    authed: TestClient, keys: dict[str, tuple[str, dict[str, object]]]
) -> None:
    assert authed.get("/healthz").status_code == 200
    assert authed.get("/metrics").status_code == 401
    assert authed.get("/metrics", headers=bearer(keys["case"][0])).status_code == 200


def test_keys_rotate_without_a_restart(
    authed: TestClient, clients_file: Path, keys: dict[str, tuple[str, dict[str, object]]]
) -> None:
    old_key, old_entry = keys["case"]
    assert authed.get("/v1/caller", headers=bearer(old_key)).status_code == 200
    new_key, new_entry = make_key()
    write_clients(clients_file, [{"name": "lpsk-case-app", "keys": [old_entry, new_entry]}])
    assert authed.get("/v1/caller", headers=bearer(new_key)).status_code == 200
    assert authed.get("/v1/caller", headers=bearer(old_key)).status_code == 200  # overlap
    write_clients(clients_file, [{"name": "lpsk-case-app", "keys": [new_entry]}])
    assert authed.get("/v1/caller", headers=bearer(old_key)).status_code == 401  # revoked
    assert authed.get("/v1/caller", headers=bearer(new_key)).status_code == 200


def test_a_broken_clients_file_edit_keeps_the_last_good_version(
    authed: TestClient, clients_file: Path, keys: dict[str, tuple[str, dict[str, object]]]
) -> None:
    clients_file.write_text("clients: [{name: BAD NAME, keys: 3}]\n", encoding="utf-8")
    os.utime(clients_file, ns=(1, 1))  # a different stamp even within the same clock tick
    assert authed.get("/v1/caller", headers=bearer(keys["case"][0])).status_code == 200


def test_an_expired_key_is_refused(sim: Simulator, tmp_path: Path) -> None:
    key, entry = make_key()
    entry["not_after"] = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    path = write_clients(tmp_path / "clients.yaml", [{"name": "lpsk-case-app", "keys": [entry]}])
    settings = make_settings(sim.base_url).model_copy(
        update={"auth": AuthSettings(clients_file=path)}
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/caller", headers=bearer(key)).status_code == 401


def test_without_configured_authentication_only_loopback_is_allowed(tmp_path: Path) -> None:
    assert Settings(api=ApiSettings(host="127.0.0.1")).auth.enabled is False
    with pytest.raises(ValidationError, match="needs caller authentication"):
        Settings(api=ApiSettings(host="0.0.0.0"))
    clients = write_clients(tmp_path / "clients.yaml", [])
    with pytest.raises(ValidationError, match="needs TLS"):
        Settings(api=ApiSettings(host="0.0.0.0"), auth=AuthSettings(clients_file=clients))
    tls = ApiSettings(host="0.0.0.0", tls_cert_file=tmp_path / "c.pem", tls_key_file=tmp_path / "k")
    assert Settings(api=tls, auth=AuthSettings(clients_file=clients)).auth.enabled


def test_a_clients_file_with_a_plaintext_key_does_not_start(sim: Simulator, tmp_path: Path) -> None:
    key, entry = make_key()
    path = write_clients(
        tmp_path / "clients.yaml", [{"name": "app", "keys": [{**entry, "hash": key}]}]
    )
    settings = make_settings(sim.base_url).model_copy(
        update={"auth": AuthSettings(clients_file=path)}
    )
    with (
        pytest.raises(Exception, match="clients file invalid") as raised,
        TestClient(create_app(settings)),
    ):
        pass
    assert key not in str(raised.value)


def test_the_request_log_line_names_the_client_and_never_the_key(
    authed: TestClient, keys: dict[str, tuple[str, dict[str, object]]]
) -> None:
    key, entry = keys["case"]
    with structlog.testing.capture_logs() as logs:
        authed.get("/v1/caller", headers=bearer(key))
        authed.get("/v1/caller", headers=bearer(key[:-2] + "xx"))
    ok, refused = [line for line in logs if line["event"] == "request"]
    assert ok["client"] == "lpsk-case-app" and ok["key_id"] == entry["id"]
    assert refused["client"] is None and refused["code"] == "unauthorized"
    assert key[12:] not in str(logs)  # the secret part never reaches a log


def test_a_burst_with_a_good_key_on_a_cold_gateway_shares_one_check(
    sim: Simulator,
    clients_file: Path,
    keys: dict[str, tuple[str, dict[str, object]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A case application opening many connections to a gateway that just started: each request
    # used to pay a key-check token and a scrypt, and those past the burst (10) got 429.
    checks: list[str] = []
    real_check = ClientDirectory.check

    def slow_check(self: ClientDirectory, presented: object) -> object:
        checks.append("scrypt")
        time.sleep(0.3)  # the whole burst arrives while this check runs
        return real_check(self, presented)  # type: ignore[arg-type]

    monkeypatch.setattr(ClientDirectory, "check", slow_check)
    settings = make_settings(sim.base_url).model_copy(
        update={"auth": AuthSettings(clients_file=clients_file)}
    )
    app = create_app(settings)

    async def burst(key: str, count: int) -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            asks = [client.get("/v1/caller", headers=bearer(key)) for _ in range(count)]
            return [response.status_code for response in await asyncio.gather(*asks)]

    async def scenario() -> tuple[list[int], list[int]]:
        async with app.router.lifespan_context(app):
            good = await burst(keys["case"][0], 24)  # over the key-check burst (10), within
            wrong = await burst(keys["other"][0][:-4] + "xxxx", 24)  # the client burst (30)
            return good, wrong

    good, wrong = asyncio.run(scenario())
    assert good == [200] * 24
    assert wrong == [401] * 24  # a wrong key shares its check too: one scrypt, one token
    assert checks == ["scrypt", "scrypt"]
