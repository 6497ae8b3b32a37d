"""The report for people (aligned lines, the fix under each problem) and for machines (JSON)."""

from __future__ import annotations

from ktp_gateway.doctor.model import ExitStatus, Report, Status

TITLE_WIDTH = 16
_LABEL = {Status.OK: "OK", Status.WARN: "WARN", Status.FAIL: "FAIL", Status.SKIP: "SKIP"}
_VERDICT = {ExitStatus.OK: "all OK", ExitStatus.WARN: "warnings", ExitStatus.FAIL: "failures"}


def text(report: Report) -> str:
    """One line per finding; `fix:` under each WARN and FAIL; a verdict with the exit status."""
    out = [f"ktp-gateway doctor {report.version}", ""]
    for line in report.lines:
        where = f"{line.reader}: " if line.reader else ""
        out.append(f"{_LABEL[line.status]:<5} {line.title:<{TITLE_WIDTH}} {where}{line.summary}")
        if line.fix and line.status in (Status.WARN, Status.FAIL):
            out.append(f"{'':<5} {'':<{TITLE_WIDTH}} fix: {line.fix}")
    counts = {s: sum(1 for line in report.lines if line.status is s) for s in Status}
    verdict = _VERDICT[ExitStatus(report.exit_status)]
    out += [
        "",
        f"{verdict}: {counts[Status.OK]} OK, {counts[Status.WARN]} WARN, "
        f"{counts[Status.FAIL]} FAIL, {counts[Status.SKIP]} skipped in {report.seconds:.1f} s "
        f"(exit status {report.exit_status})",
    ]
    return "\n".join(out)


def as_json(report: Report) -> str:
    """The report as JSON (`--json`): stable check ids, statuses in lower case."""
    return report.model_dump_json(indent=2)
