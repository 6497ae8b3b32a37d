"""The benchmark harness runs end to end on tiny counts and writes the JSON issue 8 asks for.

Not a timed test: no figure is checked against a goal, only that each part produced its keys.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.floor import compute_floor, reads_for
from bench.run import main
from ktp_gateway.specs import load_specs
from ktp_gateway_dev.simulators.population import load_population

pytestmark = pytest.mark.pcsc


def test_the_floor_follows_the_profiles_read_rule() -> None:
    specs = load_specs()
    card, sam = specs.cards["ktp-el"], specs.sams["ktp-el-sam"]
    first, chunk = card.read.first_read, card.read.chunk
    assert reads_for(first, card) == 1
    assert reads_for(first + 1, card) == 2
    assert reads_for(first + chunk, card) == 2
    assert reads_for(first + chunk + 1, card) == 3
    sizes = {"card_control": 53, "biodata": 210, "photo": 2877, "signature_image": 1096}
    floor = compute_floor(card, sam, {**sizes, "digital_signature": 73})
    # biodata is read under secure messaging: a wrap and an unwrap per command to it
    assert floor.sam["secure messaging biodata"] == 2 * floor.card["read biodata"]
    assert "open" in floor.sam_per_session and "open" not in floor.sam


def test_the_harness_writes_every_part_without_personal_data(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    argv = ["--taps", "2", "--rest-seconds", "0.3", "--concurrency", "1,2"]
    argv += ["--memory", "20,40", "--reader-seconds", "0.5", "--out", str(out)]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    parts = result["parts"]
    assert {"cores", "cpu", "ram_gib", "kernel", "python"} <= set(result["machine"])
    assert "load_average_at_start" in result
    assert [r["dukcapil_latency_ms"] for r in parts["tap_breakdown"]] == [0, 50]
    assert {"card_io_ms", "sam_ms", "dukcapil_ms", "gateway_overhead_ms"} <= set(
        parts["tap_breakdown"][0]["ms"]
    )
    assert parts["apdu_economy"] >= 1.0
    assert parts["apdu_sequence"]["matches_gateway_taps"] is True
    assert set(parts["apdu_sequence"]["projection"]["card"]) == {"106_kbit", "424_kbit", "848_kbit"}
    for name in ("nik_lookup", "claims", "simulator_direct"):
        assert all("rps" in cell for cell in parts["rest"]["cells"][name])
    assert [p["requests"] for p in parts["memory"]["points"]][1:] >= [20, 40]
    assert "skipped" in parts["readers"] or "rps" in parts["readers"]
    text = out.read_text()
    for person in load_population().people:
        assert person.nik not in text
        assert person.nama_lgkp not in text.upper()
