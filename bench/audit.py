"""What accountability costs: audit append (fsync'd and not), verifying and reporting the trail.

    .venv/bin/python bench/audit.py [--count 2000] [--verify-count 100000]

Writes bench/results/audit.json. The trail lives in a temporary directory on the same disk as
the system temp directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from ktp_gateway.audit.chain import Kind
from ktp_gateway.audit.report import build_report, date_range
from ktp_gateway.audit.store import AuditTrail
from ktp_gateway.audit.verify import verify_trail

RESULTS = Path(__file__).parent / "results"
RECORD = {
    "operation": "verification", "request_id": "0" * 32, "client": "case-app",
    "officer_id": "PETUGAS-001", "purpose": "perlindungan_saksi", "nomor_register": "REG/2026/1",
    "reader": "Virtual PCD 00 00", "card_read": True, "registry_queried": True,
    "fields_released": ["nik", "nama_lengkap", "alamat"], "outcome": "verified", "code": None,
    "latency_ms": 28.4, "agreement": "DEMO-001/PKS/LPSK/2026", "return_data_queued": False,
}  # fmt: skip


def _appends(directory: Path, count: int, *, fsync: bool) -> list[float]:
    trail = AuditTrail(directory, fsync=fsync)
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        trail.append(Kind.ACCESS, RECORD)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(samples), 3),
        "p99": round(ordered[int(0.99 * (len(ordered) - 1))], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--verify-count", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fsynced = _appends(root / "fsync", args.count, fsync=True)
        plain = _appends(root / "plain", args.count, fsync=False)
        big = AuditTrail(root / "big", fsync=False)
        _appends(big.directory, args.verify_count, fsync=False)
        started = time.perf_counter()
        verdict = verify_trail(big)
        verify_s = time.perf_counter() - started
        today = dt.datetime.now(dt.UTC).date()
        started = time.perf_counter()
        build_report(big, date_range(today, today), agreement={"reference": "bench"})
        report_s = time.perf_counter() - started
        size = big.path.stat().st_size
    result = {
        "benchmark": "audit",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "append_ms_fsync": _ms(fsynced),
        "append_ms_no_fsync": _ms(plain),
        "verify": {
            "records": verdict.records,
            "seconds": round(verify_s, 2),
            "intact": verdict.intact,
        },
        "report_seconds": round(report_s, 2),
        "bytes_per_record": round(size / args.verify_count),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "audit.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
