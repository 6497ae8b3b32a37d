"""The API isolation findings, each reproduced against the real gateway process with two clients
of different grants: what one client can do to another, or to the audit trail, or to the
service's own counts."""

from __future__ import annotations

import socket
import time

from tests.isolation.conftest import ACCOUNTABLE, BUDI, Gateway

CASE, INTAKE = "lpsk-case-app", "lpsk-intake"


def _metric(gateway: Gateway, name: str, **labels: str) -> float:
    status, text, _ = gateway.call("GET", "/metrics", CASE)
    assert status == 200
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    total = 0.0
    for line in str(text).splitlines():
        if line.startswith(name + "{"):
            inside = line[len(name) + 1 : line.index("}")]
            if all(part in inside.split(",") for part in wanted.split(",")):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_nik_is_sixteen_ascii_digits_and_nothing_else(gateway: Gateway) -> None:
    for typed in (
        BUDI + "\n", " " + BUDI, "3171-0115-0580-9901", "3171.0115.0580.9901",
        "3171 0115 0580 9901", "".join(chr(0xFF10 + int(digit)) for digit in BUDI), BUDI + "0",
    ):  # fmt: skip
        status, body, _ = gateway.call(
            "POST", "/v1/nik-lookups", CASE, {**ACCOUNTABLE, "nik": typed}
        )
        assert (status, body["code"]) == (422, "invalid_nik"), typed
    status, _, _ = gateway.call("POST", "/v1/nik-lookups", CASE, {**ACCOUNTABLE, "nik": BUDI})
    assert status == 200


def test_no_interactive_page_is_served_open(gateway: Gateway) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        status, _, _ = gateway.call("GET", path, None)
        assert status in {401, 404}, path
    status, contract, _ = gateway.call("GET", "/openapi.json", None)
    assert status == 200 and contract["openapi"].startswith("3.")


def test_a_client_hanging_up_mid_body_is_no_server_error(gateway: Gateway) -> None:
    before = _metric(gateway, "ktp_gateway_http_requests_total", status="500")
    head = (
        "POST /v1/nik-lookups HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {gateway.keys[CASE]}\r\nContent-Length: 400\r\n\r\n"
        '{"officer_id": "PETUGAS'
    )
    for _ in range(3):
        gateway.raw(head.encode())
    time.sleep(0.5)
    assert _metric(gateway, "ktp_gateway_http_requests_total", status="500") == before
    assert _metric(gateway, "ktp_gateway_http_requests_total", status="499") >= 3
    assert '"code": "client_disconnected"' in gateway.log.read_text()


def test_one_client_flooding_async_jobs_leaves_the_other_its_own(gateway: Gateway) -> None:
    body = {**ACCOUNTABLE, "mode": "async", "wait_seconds": 30, "reader": "Tidak Ada 00 00"}
    answers = [gateway.call("POST", "/v1/verifications", CASE, body)[0] for _ in range(6)]
    assert answers.count(202) == 3 and answers.count(429) == 3  # its share, then refused
    status, job, _ = gateway.call("POST", "/v1/verifications", INTAKE, body)
    assert status == 202, job  # the other client still gets a job


def test_reader_values_are_bounded_where_parsed_and_a_refused_tap_is_audited(
    gateway: Gateway,
) -> None:
    for reader in ("R" * 300, "Reader 317101150580990100", "Reader\u0000"):
        status, body, _ = gateway.call(
            "POST", "/v1/verifications", CASE, {**ACCOUNTABLE, "reader": reader}
        )
        assert (status, body["code"]) == (422, "invalid_request"), reader
    before = len(gateway.audit())
    status, body, _ = gateway.call(
        "POST", "/v1/verifications", CASE, {**ACCOUNTABLE, "reader": "Pembaca Tidak Ada 00 00"}
    )
    assert status in {404, 503}, body
    # The earlier test's async jobs may end (and be recorded) meanwhile: this tap's own record.
    [record] = [
        r
        for r in gateway.audit()[before:]
        if r["kind"] == "access" and r["data"]["reader"] == "Pembaca Tidak Ada 00 00"
    ]
    assert record["data"]["outcome"] == "error" and record["data"]["code"] == body["code"]


def _item(register: str) -> dict[str, object]:
    return {
        **ACCOUNTABLE,
        "nik": BUDI,
        "nomor_register": register,
        "nomor_sk_rapat_paripurna": "SK-UJI/RP/2026",
    }


def _without_id(problem: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in problem.items() if k not in ("request_id", "instance")}


def test_each_client_sees_reads_and_retries_only_its_own_return_data(gateway: Gateway) -> None:
    status, item, _ = gateway.call("POST", "/v1/return-data", CASE, _item("REG-UJI/ISO/1"))
    assert status == 202, item
    # The other client: not in its list, and its id answers exactly like an unknown one.
    status, listing, _ = gateway.call("GET", "/v1/return-data", INTAKE)
    assert status == 200 and item["id"] not in [i["id"] for i in listing["items"]]
    assert sum(listing["counts"].values()) == 0
    for method, path in (("GET", f"/v1/return-data/{item['id']}"),
                         ("POST", f"/v1/return-data/{item['id']}/retry")):  # fmt: skip
        theirs = gateway.call(method, path, INTAKE)
        unknown = gateway.call(method, path.replace(item["id"], "0" * 32), INTAKE)
        assert theirs[0] == unknown[0] == 404
        assert _without_id(theirs[1]) == _without_id(unknown[1])
    # Its owner and the operator client see it; its owner may retry it once it is dead.
    assert gateway.call("GET", f"/v1/return-data/{item['id']}", CASE)[0] == 200
    wait = time.monotonic() + 10
    while gateway.call("GET", f"/v1/return-data/{item['id']}", CASE)[1]["status"] != "dead":
        assert time.monotonic() < wait, "the item never failed its one attempt"
        time.sleep(0.2)
    assert gateway.call("POST", f"/v1/return-data/{item['id']}/retry", CASE)[0] == 200
    status, listing, _ = gateway.call("GET", "/v1/return-data", "lpsk-ops")
    assert item["id"] in [i["id"] for i in listing["items"]]


def test_the_same_item_from_two_clients_is_two_items_not_a_twin(gateway: Gateway) -> None:
    body = _item("REG-UJI/ISO/2")
    first = gateway.call("POST", "/v1/return-data", CASE, body)
    second = gateway.call("POST", "/v1/return-data", INTAKE, body)
    again = gateway.call("POST", "/v1/return-data", INTAKE, body)
    assert (first[0], second[0], again[0]) == (202, 202, 200)
    assert first[1]["id"] != second[1]["id"] == again[1]["id"]


def test_return_data_names_its_officer_and_purpose_and_is_audited(gateway: Gateway) -> None:
    body = {k: v for k, v in _item("REG-UJI/ISO/3").items() if k != "officer_id"}
    status, problem, _ = gateway.call("POST", "/v1/return-data", CASE, body)
    assert (status, problem["code"]) == (422, "accountability_required")
    before = len(gateway.audit())
    assert gateway.call("POST", "/v1/return-data", CASE, _item("REG-UJI/ISO/3"))[0] == 202
    refused = {**_item("REG-UJI/ISO/4"), "purpose": "pemasaran"}
    assert gateway.call("POST", "/v1/return-data", CASE, refused)[0] == 403
    records = [r["data"] for r in gateway.audit()[before:] if r["kind"] == "access"]
    queued, refusal = records
    assert queued["operation"] == "return_data" and queued["outcome"] == "queued"
    assert queued["officer_id"] == ACCOUNTABLE["officer_id"] and queued["client"] == CASE
    assert queued["nomor_register"] == "REG-UJI/ISO/3" and BUDI not in str(queued)
    assert refusal["outcome"] == "refused" and refusal["code"] == "purpose_not_in_agreement"


def test_key_checks_are_paced_per_source_before_any_scrypt(gateway: Gateway) -> None:
    for client in (CASE, INTAKE):  # both keys verified once: they answer from the cache now
        assert gateway.call("GET", "/v1/caller", client)[0] == 200
    live = gateway.keys[CASE]
    wrong = live[: live.rindex("_") + 1] + "x" * 43
    statuses = [
        gateway.call("GET", "/v1/caller", None, headers=_bearer(wrong))[0] for _ in range(14)
    ]
    assert statuses[:10] == [401] * 10 and 429 in statuses[10:]
    status, body, headers = gateway.call("GET", "/v1/caller", None, headers=_bearer(wrong))
    assert status == 429 and body["code"] == "rate_limited"
    assert "retry-after" in {name.lower() for name in headers}
    for client in (CASE, INTAKE):  # known keys still pass: no scrypt, no budget
        assert gateway.call("GET", "/v1/caller", client)[0] == 200


def _closed_by_server(conn: socket.socket, within: float) -> bool:
    conn.settimeout(within)
    try:
        return conn.recv(1) == b""
    except (TimeoutError, ConnectionResetError):
        return False


def test_silent_and_slow_callers_are_cut_off(gateway: Gateway) -> None:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", gateway.port)) as silent:
        assert _closed_by_server(silent, 5)
    with socket.create_connection(("127.0.0.1", gateway.port)) as slow:
        for part in (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n"):  # never ends its headers
            slow.sendall(part)
            time.sleep(0.4)
        assert _closed_by_server(slow, 5)
    assert time.monotonic() - started < 6
    assert gateway.call("GET", "/healthz", None)[0] == 200  # a prompt caller is served


def _open_stream(gateway: Gateway, client: str) -> tuple[socket.socket, bytes]:
    conn = socket.create_connection(("127.0.0.1", gateway.port), timeout=5)
    conn.sendall(
        f"GET /v1/events HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {gateway.keys[client]}\r\n\r\n".encode()
    )
    return conn, conn.recv(200)


def test_a_client_holds_at_most_its_share_of_event_streams(gateway: Gateway) -> None:
    first, head = _open_stream(gateway, CASE)
    second, _ = _open_stream(gateway, CASE)
    try:
        assert head.startswith(b"HTTP/1.1 200")
        third, refused = _open_stream(gateway, CASE)
        third.close()
        assert refused.startswith(b"HTTP/1.1 429")
        other, head = _open_stream(gateway, INTAKE)  # another client is not affected
        other.close()
        assert head.startswith(b"HTTP/1.1 200")
    finally:
        first.close()
    deadline = time.monotonic() + 10
    while True:  # the closed stream's place is free again
        again, head = _open_stream(gateway, CASE)
        again.close()
        if head.startswith(b"HTTP/1.1 200"):
            break
        assert time.monotonic() < deadline, "a closed stream kept its place"
        time.sleep(0.3)
    second.close()


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
