"""The usage report as HTML (tables and two inline SVG charts, no script), CSV and JSON.

Every value rendered is a count, a period, an agreement number, a purpose code, an officer or
client id, an error code or a reader name; all of it escaped. The HTML needs nothing from the
network, so it can be printed, archived or attached to the letter to Dukcapil as it is.
"""

from __future__ import annotations

import csv
import io
from html import escape

from ktp_gateway.audit.report import UsageReport

_COLOURS = ("#1f5f8b", "#e07b39", "#5a9e4b", "#a14d8c", "#c9a227", "#6b6b6b")
_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:60rem}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f2f2f2;text-align:left}
.ok{color:#2e7d32}.bad{color:#c62828;font-weight:bold}code{font-size:.85rem}
"""


def to_json(report: UsageReport) -> str:
    return report.model_dump_json(indent=2) + "\n"


def to_csv(report: UsageReport) -> str:
    """Long format: section, key, count (one table a spreadsheet can pivot)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "key", "count"])
    writer.writerow(["period", f"{report.period.start}..{report.period.end}", ""])
    totals = ("accesses", "card_reads", "nik_only", "refused", "photos_released")
    for key in (*totals, "family_lookups", "family_members_released", "gateway_starts"):
        writer.writerow(["totals", key, getattr(report, key)])
    for month, operations in report.by_month.items():
        for operation, count in operations.items():
            writer.writerow(["by_month", f"{month} {operation}", count])
    for section, counts in _sections(report):
        for key, count in counts.items():
            writer.writerow([section, key, count])
    for key, value in report.return_data.model_dump().items():
        writer.writerow(["return_data", key, "" if value is None else value])
    writer.writerow(["trail", "intact", report.trail.intact])
    writer.writerow(["trail", "last_seq", report.trail.last_seq or 0])
    writer.writerow(["trail", "head_hash", report.trail.head_hash or ""])
    return out.getvalue()


def _sections(report: UsageReport) -> list[tuple[str, dict[str, int]]]:
    return [
        ("by_operation", report.by_operation),
        ("by_outcome", report.by_outcome),
        ("by_holder_check", report.by_holder_check),
        ("by_purpose", report.by_purpose),
        ("by_officer", report.by_officer),
        ("by_client", report.by_client),
        ("refusals", report.refusals),
        ("incidents", report.incidents),
        ("incidents_by_reader", report.incidents_by_reader),
        ("agreement_events", report.agreement_events),
    ]


def _table(title: str, counts: dict[str, int], key: str = "") -> str:
    if not counts:
        return f"<h2>{escape(title)}</h2><p>None in this period.</p>"
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td class=n>{count}</td></tr>"
        for name, count in counts.items()
    )
    head = f"<tr><th>{escape(key)}</th><th>count</th></tr>"
    return f"<h2>{escape(title)}</h2><table>{head}{rows}</table>"


def _rect(x: float, y: float, width: float, height: float, fill: str, title: str = "") -> str:
    tip = f"<title>{escape(title)}</title>" if title else ""
    return f'<rect x="{x}" y="{y}" width="{width}" height="{height}" fill="{fill}">{tip}</rect>'


def _text(x: float, y: float, text: str, *, size: int = 11, anchor: str = "start") -> str:
    return f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}">{escape(text)}</text>'


def _svg(width: int, height: int, label: str, parts: list[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}">'
    )
    return head + "".join(parts) + "</svg>"


def _month_chart(report: UsageReport) -> str:
    """Stacked bars: accesses per month, by operation."""
    operations = sorted({op for counts in report.by_month.values() for op in counts})
    months = list(report.by_month)
    peak = max([sum(c.values()) for c in report.by_month.values()] + [1])
    height, bar, left = 240, 36, 40
    parts = []
    for index, month in enumerate(months):
        x, y = left + index * 60, height
        for op_index, operation in enumerate(operations):
            count = report.by_month[month].get(operation, 0)
            size = round(count / peak * (height - 20))
            y -= size
            colour = _COLOURS[op_index % len(_COLOURS)]
            parts.append(_rect(x, y, bar, size, colour, f"{month} {operation}: {count}"))
        total = sum(report.by_month[month].values())
        parts.append(_text(x + bar / 2, y - 4, str(total), anchor="middle"))
        parts.append(_text(x + bar / 2, height + 16, month, anchor="middle"))
    for op_index, operation in enumerate(operations):  # one legend row each: never cut off
        y = height + 30 + op_index * 18
        parts.append(_rect(left, y, 12, 12, _COLOURS[op_index % len(_COLOURS)]))
        parts.append(_text(left + 16, y + 11, operation, size=12))
    width = max(60 * len(months) + 60, 320)
    return _svg(width, height + 40 + 18 * len(operations), "Accesses per month", parts)


LABEL_CHARS = 26  # what fits left of the bars at 12 px; the table below has the full name


def _bar_chart(title: str, counts: dict[str, int]) -> str:
    """Horizontal bars, one per key."""
    if not counts:
        return ""
    peak, row, label = max(counts.values()), 22, 190
    parts = []
    for index, (name, count) in enumerate(counts.items()):
        y = 5 + index * row
        size = round(count / peak * 380)
        shown = name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "\u2026"
        parts.append(_text(label - 6, y + 14, shown, size=12, anchor="end"))
        parts.append(_rect(label, y, size, 16, _COLOURS[0]))
        parts.append(_text(label + size + 4, y + 13, str(count)))
    return _svg(640, row * len(counts) + 10, title, parts)


def to_html(report: UsageReport) -> str:
    """A self-contained page: summary, charts, tables, the trail's state."""
    agreement, trail, returns = report.agreement, report.trail, report.return_data
    state = (
        '<span class="ok">verified intact</span>'
        if trail.intact
        else '<span class="bad">NOT INTACT: ' + escape("; ".join(trail.problems)) + "</span>"
    )
    pending = "not configured" if returns.pending_now is None else str(returns.pending_now)
    dead = "not configured" if returns.dead_now is None else str(returns.dead_now)
    summary = {
        "accesses (card reads, NIK lookups, claims checks)": report.accesses,
        "card reads (KTP-el authenticated through the SAM)": report.card_reads,
        "NIK-only registry queries (no card)": report.nik_only,
        "refused by the policy (agreement, purpose, grant)": report.refused,
        "face photos released (card or registry)": report.photos_released,
        "family card (KK) lookups": report.family_lookups,
        "family card members released": report.family_members_released,
        "gateway starts": report.gateway_starts,
    }
    summary_rows = "".join(
        f"<tr><td>{escape(k)}</td><td class=n>{v}</td></tr>" for k, v in summary.items()
    )
    return_rows = (
        f"<tr><td>queued (by verifications and by the case application)</td>"
        f"<td class=n>{returns.queued}</td></tr>"
        f"<tr><td>sent by the case application (POST /v1/return-data)</td>"
        f"<td class=n>{returns.submitted}</td></tr>"
        f"<tr><td>delivered to Dukcapil</td><td class=n>{returns.delivered}</td></tr>"
        f"<tr><td>failed attempts (retried)</td><td class=n>{returns.failed_attempts}</td></tr>"
        f"<tr><td>dead-lettered</td><td class=n>{returns.dead_lettered}</td></tr>"
        f"<tr><td>pending now</td><td class=n>{escape(pending)}</td></tr>"
        f"<tr><td>dead now (needs an operator)</td><td class=n>{escape(dead)}</td></tr>"
    )
    body = [
        f"<h1>Laporan penggunaan akses data kependudukan: {escape(report.period.label)}</h1>",
        f"<p>Agreement {escape(agreement.get('reference', ''))}<br>"
        f"Period {report.period.start} to {report.period.end}; generated "
        f"{report.generated_at.isoformat(timespec='seconds')}.<br>Counts only: the audit trail "
        "holds no NIK, no name and no value of any person.</p>",
        f"<h2>Summary</h2><table>{summary_rows}</table>",
        "<h2>Accesses per month</h2>",
        _month_chart(report),
        "<h2>Outcomes</h2>",
        _bar_chart("Outcomes", report.by_outcome),
        _table("By outcome", report.by_outcome, "outcome"),
        _table("Holder checks (fingerprint on the device)", report.by_holder_check, "result"),
        _table("By purpose", report.by_purpose, "purpose (agreement code)"),
        _table("By officer", report.by_officer, "officer id"),
        _table("By client application", report.by_client, "client"),
        _table("By operation", report.by_operation, "operation"),
        _table("Refusals", report.refusals, "error code"),
        _table("Reader, card and SAM incidents", report.incidents, "error code"),
        _table("Incidents by reader", report.incidents_by_reader, "reader"),
        f"<h2>Return data (data balikan)</h2><table>{return_rows}</table>",
        _table("Agreement events (suspension, resumption)", report.agreement_events, "event"),
        f"<h2>Audit trail</h2><p>{state}: {trail.records} records, last sequence number "
        f"{trail.last_seq or 0}.<br>Hash of the last record: <code>{escape(trail.head_hash or '-')}"
        "</code><br>Keep this hash with the report: `ktp-gateway audit verify` shows whether "
        "the trail still ends in it.</p>",
    ]
    title = escape(f"Usage report {report.period.label}")
    return (
        f"<!doctype html><html lang=id><head><meta charset=utf-8><title>{title}</title>"
        f"<style>{_STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )
