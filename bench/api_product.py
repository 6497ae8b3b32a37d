"""What the API product's checks cost per request: key checks, rate limits, claims scoring.

Pure in-process timings of the code every request runs (no card, no network), so a change that
makes authentication or claims scoring slow shows here. Writes bench/results/api_product.json.

    .venv/bin/python bench/api_product.py [--count 2000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from ktp_gateway.api.limits import TokenBucket
from ktp_gateway.callers.clients import ClientDirectory
from ktp_gateway.callers.keys import hash_key, new_key, parse_key
from ktp_gateway.claims.model import Claims
from ktp_gateway.claims.verify import Thresholds, check_claims
from ktp_gateway.domain import Address, PersonData

RESULTS = Path(__file__).parent / "results"


def _time(action: Callable[[], object], count: int) -> dict[str, float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return {
        "median_us": round(statistics.median(samples), 1),
        "p99_us": round(samples[min(len(samples) - 1, int(0.99 * len(samples)))], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    key_id, key = new_key()
    presented = parse_key(key)
    if presented is None:
        raise SystemExit("new_key() made a key parse_key() refuses")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clients.yaml"
        entry = {"id": key_id, "hash": hash_key(key)}
        path.write_text(yaml.safe_dump({"clients": [{"name": "bench", "keys": [entry]}]}))
        clients = ClientDirectory(path)
        results = {
            "key_first_use_scrypt": _time(lambda: clients.check(presented), 20),
            "key_cached": _time(lambda: clients.check_cached(presented), args.count),
        }
    bucket = TokenBucket(per_minute=1e9, burst=10**9)
    results["rate_limit_take"] = _time(lambda: bucket.spend("officer"), args.count)
    record = PersonData(  # budi, a synthetic person (simulators/data/synthetic_people.yaml)
        nik="3171011505809901",
        nama_lengkap="BUDI CONTOH",
        tempat_lahir="JAKARTA",
        tanggal_lahir=dt.date(1980, 5, 15),
        nama_ibu_kandung="SRI CONTOH IBUNDA",
        alamat=Address(alamat="JL. CONTOH RAYA NO. 1", rt="001", rw="002"),
    )
    claims = Claims.model_validate(
        {
            "nama_lengkap": "Dr. H. Budi Contoh, S.H.",
            "nama_ibu_kandung": "Sri Contoh",
            "tempat_lahir": "Kota Jakarta",
            "tanggal_lahir": "1980-05-15",
            "alamat": {"alamat": "Jalan Contoh Raya Nomor 1", "rt": "1", "rw": "2"},
        }
    )
    results["claims_five_fields"] = _time(
        lambda: check_claims(claims, record, Thresholds()), args.count
    )
    result = {
        "benchmark": "api_product",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "api_product.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'check':<24} {'median us':>10} {'p99 us':>10}")
    for name, stats in results.items():
        print(f"{name:<24} {stats['median_us']:>10} {stats['p99_us']:>10}")


if __name__ == "__main__":
    main()
