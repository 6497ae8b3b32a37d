"""Two readers at one counter, through the API: parallel taps, each answered from its own card."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from ktp_gateway_dev.stack.virtual import CARD_READER, SECOND_CARD_READER, VirtualReaderPair
from tests.api.conftest import verification_body

pytestmark = pytest.mark.pcsc


def _verify(client: TestClient, reader: str) -> tuple[int, dict[str, object]]:
    response = client.post(
        "/v1/verifications", json=verification_body(reader=reader, wait_seconds=10)
    )
    return response.status_code, response.json()


def _busy(client: TestClient, reader: str) -> bool:
    readers = client.get("/v1/readers").json()["readers"]
    return any(r["name"] == reader and r["busy"] for r in readers)


def test_two_readers_verify_two_people_at_once(
    client: TestClient, reader_pair: VirtualReaderPair, second_reader_pair: VirtualReaderPair
) -> None:
    listed = {r["name"]: r for r in client.get("/v1/readers").json()["readers"]}
    assert listed[CARD_READER]["sam_present"] and listed[SECOND_CARD_READER]["sam_present"]
    with ThreadPoolExecutor(2) as pool:
        # Both requests wait for a card; the cards arrive one after the other.
        first = pool.submit(_verify, client, CARD_READER)
        second = pool.submit(_verify, client, SECOND_CARD_READER)
        second_reader_pair.place("siti")
        status, body = second.result(timeout=15)
        assert status == 200 and body["outcome"] == "mismatch", body  # Siti moved house
        assert body["card"]["reader"] == SECOND_CARD_READER  # type: ignore[index]
        assert not first.done()  # reader 1 still waits for its card: nothing blocked it
        reader_pair.place("budi")
        status, body = first.result(timeout=15)
        assert status == 200 and body["outcome"] == "verified", body
        assert body["card"]["reader"] == CARD_READER  # type: ignore[index]
    names = {r["name"]: r["sam_state"] for r in client.get("/v1/readers").json()["readers"]}
    assert names == {CARD_READER: "open", SECOND_CARD_READER: "open"}


def test_a_busy_reader_refuses_while_the_other_serves(
    client: TestClient, reader_pair: VirtualReaderPair, second_reader_pair: VirtualReaderPair
) -> None:
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(_verify, client, CARD_READER)  # holds reader 1 until a card comes
        # Until reader 1 shows busy (asked without claiming it: a POST could take it first).
        deadline = time.monotonic() + 5
        while not _busy(client, CARD_READER) and time.monotonic() < deadline:
            time.sleep(0.02)
        response = client.post("/v1/verifications", json=verification_body(reader=CARD_READER))
        assert (response.status_code, response.json()["code"]) == (409, "reader_busy")
        second_reader_pair.place("siti")
        status, body = _verify(client, SECOND_CARD_READER)
        assert status == 200 and body["card"]["reader"] == SECOND_CARD_READER, body  # type: ignore[index]
        reader_pair.place("budi")
        status, body = waiting.result(timeout=15)
        assert status == 200 and body["outcome"] == "verified", body
