"""Fixtures shared by the PostgreSQL-state tests that run a gateway process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dukcapil.conftest import Simulator, start_simulator


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    """A Dukcapil simulator process of the test's own."""
    sim = start_simulator()
    yield sim
    sim.stop()
