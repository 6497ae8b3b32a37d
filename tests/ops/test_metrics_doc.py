"""docs/metrics.md is generated from the collectors, names and labels follow the house rules."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from ktp_gateway.observability.metrics_doc import reference, render

from .conftest import REPO

DOC = REPO / "docs" / "metrics.md"
# Labels that would carry a person or a card: never allowed on a metric.
PERSONAL = re.compile(r"nik|nama|name|uid|serial|atr|card_id|request_id|officer|register|^id$")


def test_the_committed_reference_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/metrics.md is stale: run python -m ktp_gateway.observability.metrics_doc"
    )


def test_the_generator_writes_the_page_and_its_check_catches_a_stale_one(tmp_path: Path) -> None:
    page = tmp_path / "metrics.md"
    run = [sys.executable, "-m", "ktp_gateway.observability.metrics_doc", "--output", str(page)]
    subprocess.run(run, check=True, timeout=60)  # noqa: S603 (our own module)
    assert page.read_text(encoding="utf-8") == render()
    assert subprocess.run([*run, "--check"], timeout=60).returncode == 0  # noqa: S603
    page.write_text("old\n", encoding="utf-8")
    assert subprocess.run([*run, "--check"], timeout=60).returncode == 1  # noqa: S603


def test_names_units_and_labels_follow_the_house_rules() -> None:
    docs = reference()
    assert len({doc.name for doc in docs}) == len(docs), "a family is defined twice"
    for doc in docs:
        assert doc.name.startswith("ktp_gateway_"), doc.name
        assert doc.help, f"{doc.name} has no help text"
        assert not doc.name.endswith(("_ms", "_milliseconds", "_minutes")), "base units only"
        personal = [label for label in doc.labels if PERSONAL.search(label)]
        assert not personal, f"{doc.name} has labels that could carry personal data: {personal}"
