"""The integrated-tap benchmark runs end to end on a tiny count and writes each part of the
split. Not a timed test: no figure is checked against a goal."""

from __future__ import annotations

import json
from pathlib import Path

from bench.integrated_tap import main
from ktp_gateway_dev.simulators.population import load_population


def test_the_split_is_written_without_personal_data(tmp_path: Path) -> None:
    out = tmp_path / "integrated.json"
    assert main(["--taps", "3", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["ms"]) == {"client", "device", "serial", "registry", "gateway"}
    assert all(part["median"] >= 0 for part in result["ms"].values())
    text = out.read_text()
    for person in load_population().people:
        assert person.nik not in text and person.nama_lgkp not in text.upper()
