"""`ktp-gateway demo --desks 2`: two enrolled desk agents, one access point, a tap at desk 2."""

from __future__ import annotations

import json

import pytest

from ktp_gateway_dev.desks_demo import run_desks_demo
from ktp_gateway_dev.stack.pcscd import PcscdService

pytestmark = pytest.mark.pcsc


async def test_the_desks_demo_taps_at_desk_two_and_names_it(
    pcscd_service: PcscdService, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_desks_demo(desks=2, as_json=True) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["http_status"] == 200
    card = answer["response"]["card"]
    assert card["desk"] == "meja-2" and card["reader"] == "Virtual PCD 2 00 00"
    assert answer["response"]["outcome"] == "verified"


def test_the_desks_demo_refuses_more_desks_than_reader_units() -> None:
    with pytest.raises(SystemExit, match="1 to 2"):
        import asyncio

        asyncio.run(run_desks_demo(desks=3))
