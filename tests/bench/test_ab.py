"""The A/B harness runs a base commit's gateway beside this tree's, briefly.
Not a timed test: the figures are printed, not checked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bench.ab import ROOT, main, summarise


def _in_a_git_checkout() -> bool:
    done = subprocess.run(  # noqa: S603 - fixed git arguments
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"],  # noqa: S607
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.mark.skipif(not _in_a_git_checkout(), reason="the base is a commit of this repository")
def test_both_gateways_answer_every_cell(tmp_path: Path) -> None:
    out = tmp_path / "ab.json"
    main(["--base", "HEAD", "--rounds", "2", "--seconds", "0.3", "--out", str(out)])
    result = json.loads(out.read_text())
    for side in ("base", "new"):
        cells = result["cells"][side]
        assert len(cells) == 2
        assert all(cell["requests"] > 0 and cell["statuses"] == {"200": cell["requests"]}
                   for cell in cells)  # fmt: skip
    assert set(result["summary"]) == {"gateway_cpu_ms_per_request", "rps"}


def test_the_summary_pairs_rounds_and_says_which_side_won() -> None:
    cells = {
        "base": [{"gateway_cpu_ms_per_request": 2.0, "rps": 500.0}] * 3,
        "new": [{"gateway_cpu_ms_per_request": c, "rps": 500.0} for c in (1.8, 1.9, 2.1)],
    }
    cpu = summarise(cells)["gateway_cpu_ms_per_request"]
    assert cpu["median_difference"] == -0.1
    assert cpu["rounds_new_better"] == "2/3"
