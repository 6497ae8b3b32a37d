"""The authentication-timing benchmark runs end to end on a tiny count and writes each kind.
Not a timed test: the figures are printed, not checked."""

from __future__ import annotations

import json
from pathlib import Path

from bench.auth_timing import main


def test_each_kind_of_refused_key_is_measured(tmp_path: Path) -> None:
    out = tmp_path / "auth.json"
    assert main(["--tries", "2", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["ms"]) == {
        "live id, wrong secret",
        "unknown id",
        "expired id",
        "malformed key",
    }
    assert "spread_of_medians_ms" in result
