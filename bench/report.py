"""The benchmark's JSON as a plain-text table."""

from __future__ import annotations

from typing import Any

ROWS = (
    ("client_ms", "as the client sees it"),
    ("gateway_total_ms", "gateway: tap total"),
    ("card_read_ms", "  card read (all)"),
    ("card_io_ms", "    card I/O (APDUs)"),
    ("sam_ms", "    SAM (APDUs)"),
    ("reader_host_ms", "    reader host work"),
    ("dukcapil_ms", "  Dukcapil call"),
    ("gateway_overhead_ms", "gateway overhead (rest)"),
)


def _breakdown(parts: dict[str, Any]) -> list[str]:
    runs = parts.get("tap_breakdown")
    if not runs:
        return []
    head = "".join(f"{'Dukcapil ' + str(r['dukcapil_latency_ms']) + ' ms':>22}" for r in runs)
    lines = [
        f"1. Tap breakdown, {runs[0]['taps']} taps per setting (ms, median / p99)",
        f"  {'':<26}{head}",
    ]
    for key, label in ROWS:
        cells = "".join(
            f"{r['ms'][key]['median']:>12.2f} /{r['ms'][key]['p99']:>8.2f}" for r in runs
        )
        lines.append(f"  {label:<26}{cells}")
    return [*lines, ""]


def _sequence(parts: dict[str, Any]) -> list[str]:
    seq = parts.get("apdu_sequence")
    if not seq:
        return []
    per, floor = seq["apdus_per_tap"], seq["floor"]
    files = ", ".join(
        f"{name} {size} B/{seq['reads_per_file'][name]} reads"
        for name, size in seq["bytes_read_per_file"].items()
    )
    surplus = ", ".join(f"{k} +{v}" for k, v in seq["surplus_by_ins"].items()) or "none"
    lines = [
        "2. APDU economy",
        f"  per tap: card {per['card']}, SAM {per['sam']}, total {per['total']}"
        f" (gateway's own taps agree: {seq['matches_gateway_taps']})",
        f"  floor from firmware_specs: card {floor['card']}, SAM {floor['sam']},"
        f" total {floor['total']} (SAM open per session not counted)",
        f"  apdu_economy = {seq['apdu_economy']}  (card {seq['card_economy']},"
        f" SAM {seq['sam_economy']}); surplus: {surplus}",
        f"  bytes read per EF: {files}",
        "",
        "3. Projected real-reader time of the measured sequence (ms: measured / floor)",
    ]
    projection = seq["projection"]
    for rate, values in projection["card"].items():
        m, f = values["measured"], values["floor"]
        lines.append(
            f"  card at {rate.replace('_', ' ') + '/s':<12}"
            f" {m['total_ms']:>8.1f} / {f['total_ms']:<8.1f}"
            f" (link {m['link_ms']}, chip {m['processing_ms']}, USB {m['usb_ms']})"
        )
    for baud, values in projection["sam"].items():
        m, f = values["measured"], values["floor"]
        lines.append(
            f"  SAM at {baud.replace('_', ' '):<13} {m['total_ms']:>8.1f} / {f['total_ms']:<8.1f}"
            f" (link {m['link_ms']}, SAM {m['processing_ms']}, USB {m['usb_ms']})"
        )
    return [*lines, ""]


def _rest(parts: dict[str, Any]) -> list[str]:
    rest = parts.get("rest")
    if not rest:
        return []
    lines = [
        f"4. REST at zero simulator latency, {rest['seconds_per_cell']:g} s per cell",
        f"  {'endpoint':<18}{'conc':>5}{'rps':>8}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'gw CPU':>8}{'sim CPU':>8}{'rps/direct':>11}{'p50 +ms':>9}",
    ]
    for name, cells in rest["cells"].items():
        ratios = {r["concurrency"]: r for r in rest["vs_direct"].get(name, [])}
        for cell in cells:
            ratio = ratios.get(cell["concurrency"], {})
            lines.append(
                f"  {name:<18}{cell['concurrency']:>5}{cell['rps']:>8.0f}{cell['p50_ms']:>8.2f}"
                f"{cell['p99_ms']:>8.2f}{cell['gateway_cpu_ms_per_request']:>8.2f}"
                f"{cell['simulator_cpu_ms_per_request']:>8.2f}"
                f"{ratio.get('rps_ratio') or '':>11}{ratio.get('p50_overhead_ms') or '':>9}"
            )
    lines.append("  (CPU: ms of CPU per request; gw CPU is 0 by construction for the direct row)")
    return [*lines, ""]


def _memory(parts: dict[str, Any]) -> list[str]:
    memory = parts.get("memory")
    if not memory:
        return []
    points = ", ".join(f"{p['requests']:,} req {p['rss_mib']} MiB" for p in memory["points"])
    return [f"5. Gateway VmRSS: {points}", ""]


def _readers(parts: dict[str, Any]) -> list[str]:
    readers = parts.get("readers")
    if not readers:
        return []
    if "skipped" in readers:
        return [f"6. Several readers: {readers['skipped']}", ""]
    rps, cpu = readers["rps"], readers["gateway_cpu_ms_per_tap"]
    return [
        f"6. Taps per second: 1 reader {rps['1_reader']}, 2 readers {rps['2_readers']}"
        f" (x{readers['scaling']}); gateway CPU per tap {cpu['1_reader']} / {cpu['2_readers']} ms",
        "",
    ]


def render(result: dict[str, Any]) -> str:
    """The whole run as text."""
    m = result["machine"]
    parts = result["parts"]
    lines = [
        f"ktp-gateway benchmarks, {result['date']}, {m['cores']} cores {m['cpu']},"
        f" {m['ram_gib']} GiB, Linux {m['kernel']}, Python {m['python']}",
        f"load average at start {result['load_average_at_start']}, after each part"
        f" {result.get('load_average_after_part', {})}",
        "",
        *_breakdown(parts),
        *_sequence(parts),
        *_rest(parts),
        *_memory(parts),
        *_readers(parts),
    ]
    return "\n".join(lines).rstrip()
