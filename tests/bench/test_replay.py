"""The replay harness records one tap over the virtual stack and replays it without I/O.
Not a timed test: the figure is printed, not checked."""

from __future__ import annotations

import pytest

from bench.replay import run

pytestmark = pytest.mark.pcsc


def test_a_recorded_tap_replays_through_the_gateways_read_path() -> None:
    result = run(taps=3, profile=False)
    assert result["apdus"] == 67  # the floor of the profiles, as the gateway taps (held SAM)
    assert result["ms_per_tap"] > 0
