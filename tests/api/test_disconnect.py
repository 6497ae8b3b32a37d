"""A caller that hangs up during the card wait frees the reader (real server, real socket)."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

import pytest

from ktp_gateway.config import ApiSettings
from ktp_gateway_dev.stack.processes import free_port
from ktp_gateway_dev.stack.virtual import VirtualReaderPair
from tests.api.conftest import ACCOUNTABLE, Simulator, make_settings
from tests.api.servers import serving

pytestmark = pytest.mark.pcsc


def _post(port: int, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/verifications",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_hanging_up_during_the_wait_frees_the_reader(
    sim: Simulator, reader_pair: VirtualReaderPair
) -> None:
    port = free_port()
    settings = make_settings(sim.base_url).model_copy(update={"api": ApiSettings(port=port)})
    body = json.dumps({**ACCOUNTABLE, "wait_seconds": 30}).encode()
    with serving(settings):
        caller = socket.create_connection(("127.0.0.1", port))
        caller.sendall(
            b"POST /v1/verifications HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        time.sleep(0.8)  # the gateway is now waiting for a card
        caller.close()  # the case application gave up
        time.sleep(1.0)  # within two slices the wait has stopped
        reader_pair.place("budi")
        status, answer = _post(port, {**ACCOUNTABLE, "wait_seconds": 5})
    assert status == 200, answer  # not reader_busy: nobody holds the reader any more
    assert answer["outcome"] == "verified"
