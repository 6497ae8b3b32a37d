"""Prometheus's own binaries, from Debian's `prometheus` package (scripts/setup.sh --test)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "prometheus"
RULES = DEPLOY / "ktp-gateway.rules.yml"


def _binary(name: str) -> Path:
    found = shutil.which(name)
    if found is None:
        # A failure, not a skip: CI must never pass by quietly leaving the rules untested.
        pytest.fail(
            f"{name} is not installed (Debian package prometheus): run scripts/setup.sh --test"
        )
    return Path(found)


@pytest.fixture(scope="session")
def promtool() -> Path:
    return _binary("promtool")


@pytest.fixture(scope="session")
def prometheus_binary() -> Path:
    return _binary("prometheus")
