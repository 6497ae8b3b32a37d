"""The upstream-client comparison runs both transports on the real client path, briefly.
Not a timed test: the figures are printed, not checked."""

from __future__ import annotations

import json
from pathlib import Path

from bench.upstream import main


def test_both_http_clients_answer_every_call(tmp_path: Path) -> None:
    out = tmp_path / "upstream.json"
    main(["--concurrency", "1,4", "--seconds", "0.3", "--out", str(out)])
    result = json.loads(out.read_text())["upstream"]
    assert set(result) == {"aiohttp", "httpx"}
    for cells in result.values():
        assert [cell["concurrency"] for cell in cells] == [1, 4]
        assert all(cell["calls"] > 0 for cell in cells)
