"""How long a refused API key takes, by kind of key id: a live id with a wrong secret, an
unknown id, an expired id, a malformed key. They must cost the same (one scrypt each), or a
caller without a key learns from the time of a 401 which key ids are live.

`python -m bench.auth_timing [--tries N]`: a gateway process with a clients file holding a live
and an expired key (the key-check budget per source raised for the run), N requests of each kind
to `GET /v1/caller`, interleaved; prints the medians side by side (target: within 2 ms of each
other) and writes bench/results/auth-timing-<date>-<host>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import secrets
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.stats import record, summary
from ktp_gateway.callers.keys import hash_key, new_key
from ktp_gateway_dev.demo import gateway_env
from ktp_gateway_dev.stack.processes import ManagedProcess, free_port

TARGET_MS = 2.0


def _wrong(key: str) -> str:
    """The same key id with another secret of the same length."""
    head, _, secret = key.rpartition("_")
    return f"{head}_{secrets.token_urlsafe(32)[: len(secret)]}"


def measure(tries: int) -> dict[str, Any]:
    live_id, live = new_key()
    expired_id, expired = new_key()
    _unknown_id, unknown = new_key()
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    keys = {
        "live id, wrong secret": _wrong(live),
        "unknown id": unknown,
        "expired id": _wrong(expired),
        "malformed key": "kgw_" + secrets.token_urlsafe(40),
    }
    with tempfile.TemporaryDirectory(prefix="ktp-bench-auth-") as tmp:
        root = Path(tmp)
        clients = root / "clients.yaml"
        entries = [
            {"id": live_id, "hash": hash_key(live)},
            {"id": expired_id, "hash": hash_key(expired), "not_after": yesterday},
        ]
        clients.write_text(yaml.safe_dump({"clients": [{"name": "bench", "keys": entries}]}))
        clients.chmod(0o600)
        port = free_port()
        env = gateway_env(port, free_port(), "unused", data_dir=root / "data", clients_file=clients)
        env |= {
            "KTP_GATEWAY_READER__MONITOR": "false",
            "KTP_GATEWAY_LIMITS__KEY_CHECKS_PER_MINUTE": "1000000",
            "KTP_GATEWAY_LIMITS__KEY_CHECK_BURST": "1000000",
        }
        samples: dict[str, list[float]] = {kind: [] for kind in keys}
        with ManagedProcess.python_module(
            "gateway", "ktp_gateway.cli", "serve",
            ready_url=f"http://127.0.0.1:{port}/healthz", env=env, log_path=root / "gateway.log",
        ), httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:  # fmt: skip
            for number in range(tries + 2):
                for kind, key in keys.items():
                    started = time.perf_counter()
                    answer = client.get("/v1/caller", headers={"Authorization": f"Bearer {key}"})
                    elapsed = (time.perf_counter() - started) * 1000
                    if answer.status_code != 401:
                        raise RuntimeError(f"{kind}: {answer.status_code}, expected 401")
                    if number >= 2:  # two warm-up rounds
                        samples[kind].append(elapsed)
    medians = [statistics.median(values) for values in samples.values()]
    spread = max(medians) - min(medians)
    return {
        "tries": tries,
        "ms": {kind: summary(values) for kind, values in samples.items()},
        "spread_of_medians_ms": round(spread, 2),
        "target_ms": TARGET_MS,
        "met": spread <= TARGET_MS,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.auth_timing", description=__doc__)
    parser.add_argument("--tries", type=int, default=60, help="requests per kind of key")
    parser.add_argument("--out", type=Path, default=None, help="JSON path")
    args = parser.parse_args(argv)
    result = record(measure(args.tries), "auth-timing", args.out)
    for kind, values in result["ms"].items():
        print(f"{kind:<24} median {values['median']:>7} ms  p99 {values['p99']:>7} ms")
    print(f"spread of the medians {result['spread_of_medians_ms']} ms (target <= {TARGET_MS})")
    print(f"written: {result['written']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
