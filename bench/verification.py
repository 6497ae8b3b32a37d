"""How long one verification takes on the virtual stack, through every real part.

Starts pcscd (or reuses it), the virtual SAM and card, the Dukcapil simulator and the gateway as
real processes, leaves a card on the reader, and calls POST /v1/verifications N times as the
case application does. Prints a table and writes bench/results/verification.json.

    .venv/bin/python bench/verification.py [--count 200] [--person budi]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

from ktp_gateway_dev.demo import DEMO_ACCOUNTABILITY, post_json, virtual_stack

RESULTS = Path(__file__).parent / "results"
# One officer taps as fast as the stack allows: far over the production rate limits, by design.
UNLIMITED = {
    "KTP_GATEWAY_LIMITS__CLIENT_PER_MINUTE": "1000000",
    "KTP_GATEWAY_LIMITS__CLIENT_BURST": "100000",
    "KTP_GATEWAY_LIMITS__OFFICER_PER_MINUTE": "1000000",
    "KTP_GATEWAY_LIMITS__OFFICER_BURST": "100000",
}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 2),
        "p99": round(_percentile(values, 0.99), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--person", default="budi")
    args = parser.parse_args()
    samples: dict[str, list[float]] = {
        "client_ms": [],
        "card_ms": [],
        "registry_ms": [],
        "gateway_total_ms": [],
    }
    apdus: dict[str, int] = {}
    with virtual_stack(extra_env=UNLIMITED) as stack:
        stack.pair.place(args.person)
        url = f"{stack.gateway_url}/v1/verifications"
        body = {**DEMO_ACCOUNTABILITY, "wait_seconds": 5}
        post_json(url, body, api_key=stack.api_key)  # warm-up: imports, first connections
        for _ in range(args.count):
            started = time.perf_counter()
            status, answer = post_json(url, body, api_key=stack.api_key)
            elapsed = (time.perf_counter() - started) * 1000
            if status != 200:
                raise SystemExit(f"verification failed: {status} {answer.get('code')}")
            samples["client_ms"].append(elapsed)
            samples["card_ms"].append(answer["timings"]["card_ms"])
            samples["registry_ms"].append(answer["timings"]["registry_ms"])
            samples["gateway_total_ms"].append(answer["timings"]["total_ms"])
            apdus = answer["apdus"]
        stack.pair.remove()
    result = {
        "benchmark": "verification",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "count": args.count,
        "apdus_per_tap": apdus,
        "ms": {name: _summary(values) for name, values in samples.items()},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "verification.json").write_text(
        json.dumps(result, indent=2) + "\n", encoding="utf-8"
    )
    print(
        f"{args.count} verifications of one card on the virtual stack ({apdus['card']} card APDUs, "
        f"{apdus['sam']} SAM APDUs per tap)"
    )
    print(f"{'ms':<18} {'median':>8} {'p99':>8} {'min':>8} {'max':>8}")
    for name, stats in result["ms"].items():
        print(
            f"{name:<18} {stats['median']:>8} {stats['p99']:>8} {stats['min']:>8} {stats['max']:>8}"
        )


if __name__ == "__main__":
    main()
