"""The CLI as a user runs it: `ktp-gateway demo --json` and `ktp-gateway readers`, as processes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.virtual import CARD_READER, SAM_READER, VirtualReaderPair

pytestmark = pytest.mark.pcsc


def _cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "ktp_gateway.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_demo_json_verifies_the_synthetic_card_and_stops_what_it_started(
    pcscd_service: PcscdService,
) -> None:
    done = _cli("demo", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["http_status"] == 200
    response = result["response"]
    assert response["outcome"] == "verified" and response["card"]["signature_verified"]
    assert response["registry"]["status"] == "found"
    # the virtual card and SAM are gone again: the pair's ports are free for the next user
    with VirtualReaderPair():
        pass


def test_demo_shows_a_mismatch_readably(pcscd_service: PcscdService) -> None:
    done = _cli("demo", "--person", "dewi")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "MISMATCH" in done.stdout and "DEWI SAMPEL LESTARY" in done.stdout


def test_readers_lists_card_and_sam_slots(reader_pair: VirtualReaderPair) -> None:
    reader_pair.place("budi")
    done = _cli("readers", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)["readers"]}
    assert (
        rows[CARD_READER]["role"] == "card slot" and rows[CARD_READER]["paired_with"] == SAM_READER
    )
    assert rows[CARD_READER]["card_present"] and rows[SAM_READER]["role"] == "SAM slot"
    table = _cli("readers")
    assert CARD_READER in table.stdout and "card slot" in table.stdout
