"""`ktp-gateway audit verify|prune`, `report`, `agreement show|suspend|resume`.

They read the same settings as the gateway (KTP_GATEWAY_*), work while it runs or is stopped,
and print counts, codes and hashes only. Suspension and resumption are written to the audit
trail with the operator's id and reason.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ktp_gateway.audit.chain import Kind
from ktp_gateway.audit.trail import Trail, open_trail
from ktp_gateway.errors import ConfigurationError


def _settings() -> Any:
    from ktp_gateway.config import Settings

    return Settings()


def _trail(args: argparse.Namespace) -> Trail:
    """`--dir`'s files, else the configured trail (PostgreSQL when `shared.backend` says so)."""
    settings = _settings()
    dsn = None if args.dir else settings.shared.dsn()
    directory = args.dir or settings.audit.dir
    if dsn is None and not Path(directory).is_dir():
        raise ConfigurationError(f"no audit trail in {directory} (KTP_GATEWAY_AUDIT__DIR?)")
    return open_trail(Path(directory), postgres_dsn=dsn)


def _verify(args: argparse.Namespace) -> int:
    from ktp_gateway.audit.verify import verify_trail

    trail = _trail(args)
    verdict = verify_trail(trail)
    findings = [str(f) for f in verdict.findings]
    # A hash a report pinned must still be in the chain: with the chain intact, the records up
    # to it are exactly those the report was built from.
    pinned = args.expect_head is None or any(r.hash == args.expect_head for r in trail.records())
    if not pinned:
        findings.append(f"no record has the expected hash {args.expect_head}: rewritten")
    if args.json:
        shown = {
            "intact": not findings,
            "records": verdict.records,
            "first_seq": verdict.first_seq,
            "last_seq": verdict.last_seq,
            "head_hash": verdict.head_hash,
            "findings": findings,
        }
        print(json.dumps(shown, indent=2))
    elif findings:
        print(f"audit trail NOT intact ({len(findings)} problem(s)):")
        for finding in findings:
            print(f"  {finding}")
    else:
        print(
            f"audit trail intact: {verdict.records} records, seq {verdict.first_seq or 0}.."
            f"{verdict.last_seq or 0}, last hash {verdict.head_hash or '-'}"
        )
    return 0 if not findings else 1


def _prune(args: argparse.Namespace) -> int:
    days = args.retention_days or _settings().audit.retention_days
    removed = _trail(args).prune(days)
    print(f"{removed} record(s) older than {days} days removed; the rest still chain")
    return 0


def _period(args: argparse.Namespace) -> Any:
    from ktp_gateway.audit.report import date_range, semester

    if args.semester:
        return semester(args.semester)
    if args.start and args.end:
        return date_range(args.start, args.end)
    raise ConfigurationError("name a --semester (e.g. 2026-2) or both --from and --to")


def _outbox_counts() -> Callable[[], dict[str, int]] | None:
    settings = _settings().return_data
    if not settings.enabled:
        return None
    from ktp_gateway.returns.backends import open_store

    return lambda: open_store(settings).counts()


def _agreement_summary() -> dict[str, str]:
    from ktp_gateway.privacy.agreement import load_agreement

    settings = _settings().agreement
    if settings.file is None:
        return {"reference": "(no agreement file configured)"}
    agreement = load_agreement(settings.file)
    return {
        "reference": agreement.reference,
        "provider_number": agreement.provider.number,
        "user_number": agreement.user.number,
        "valid_from": agreement.valid_from.isoformat(),
        "valid_until": agreement.valid_until.isoformat(),
    }


def _report(args: argparse.Namespace) -> int:
    from ktp_gateway.audit.render import to_csv, to_html, to_json
    from ktp_gateway.audit.report import build_report

    report = build_report(
        _trail(args), _period(args), agreement=_agreement_summary(), outbox_counts=_outbox_counts()
    )
    text = {"html": to_html, "csv": to_csv, "json": to_json}[args.format](report)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"{args.format} report for {report.period.label} written to {args.output}")
    else:
        sys.stdout.write(text)
    return 0 if report.trail.intact else 1


def _guard() -> Any:
    from ktp_gateway.privacy.agreement import AgreementGuard, load_agreement, open_switch

    settings = _settings()
    if settings.agreement.file is None:
        raise ConfigurationError("no agreement file configured (KTP_GATEWAY_AGREEMENT__FILE)")
    agreement = load_agreement(settings.agreement.file)
    path, dsn = settings.agreement.suspension_file, settings.shared.dsn()
    guard = AgreementGuard(agreement, path, switch=open_switch(agreement, path, dsn))
    return guard, open_trail(settings.audit.dir, postgres_dsn=dsn)


def _agreement_show(args: argparse.Namespace) -> int:
    guard, _ = _guard()
    agreement, standing = guard.agreement, guard.standing()
    shown = {
        "reference": agreement.reference,
        "provider": agreement.provider.model_dump(),
        "user": agreement.user.model_dump(),
        "valid_from": agreement.valid_from.isoformat(),
        "valid_until": agreement.valid_until.isoformat(),
        "state": standing.state.value,
        "days_remaining": standing.days_remaining,
        "suspension_reason": standing.reason,
        "granted_fields": [f.value for f in agreement.granted_fields],
        "photo_granted": agreement.photo_granted,
        "family_granted": agreement.family_granted,
        "purposes": [p.code for p in agreement.purposes],
        "return_data_fields": list(agreement.return_data_fields),
        "synthetic": agreement.synthetic,
    }
    if args.json:
        print(json.dumps(shown, indent=2))
    else:
        for key, value in shown.items():
            print(f"{key:<20} {value}")
    return 0 if standing.in_force else 1


def _suspend(args: argparse.Namespace) -> int:
    guard, trail = _guard()
    guard.suspend(args.reason)
    event = {
        "event": "suspended",
        "operator": args.operator,
        "reason": args.reason[:200],
        "agreement": guard.agreement.user.number,
    }
    trail.append(Kind.AGREEMENT, event)
    print(
        f"access under {guard.agreement.reference} suspended from now; the gateway refuses "
        "its next card or registry request (no restart)"
    )
    return 0


def _resume(args: argparse.Namespace) -> int:
    guard, trail = _guard()
    if not guard.resume():
        print("access was not suspended")
        return 1
    event = {
        "event": "resumed",
        "operator": args.operator,
        "agreement": guard.agreement.user.number,
    }
    trail.append(Kind.AGREEMENT, event)
    print(f"access under {guard.agreement.reference} resumed")
    return 0


def _date(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def add_commands(commands: Any) -> None:
    """Register the commands on `ktp-gateway`'s subparsers."""
    audit = commands.add_parser("audit", help="verify or prune the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_commands.add_parser("verify", help="find edited, removed or reordered records")
    verify.add_argument(
        "--dir", type=Path, default=None, help="audit directory (default: settings)"
    )
    verify.add_argument("--expect-head", default=None, help="the last hash a report recorded")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(run=_verify)
    prune = audit_commands.add_parser("prune", help="remove records past the retention period")
    prune.add_argument("--dir", type=Path, default=None)
    prune.add_argument("--retention-days", type=int, default=None)
    prune.set_defaults(run=_prune)

    report = commands.add_parser("report", help="the agreement's usage report (counts only)")
    report.add_argument("--semester", default=None, help="YYYY-1 (Jan-Jun) or YYYY-2 (Jul-Dec)")
    report.add_argument("--from", dest="start", type=_date, default=None, help="first day")
    report.add_argument("--to", dest="end", type=_date, default=None, help="last day")
    report.add_argument("--format", choices=("html", "csv", "json"), default="html")
    report.add_argument("--output", type=Path, default=None, help="file (default: stdout)")
    report.add_argument("--dir", type=Path, default=None, help="audit directory")
    report.set_defaults(run=_report)

    agreement = commands.add_parser("agreement", help="the agreement in force; suspend, resume")
    agreement_commands = agreement.add_subparsers(dest="agreement_command", required=True)
    show = agreement_commands.add_parser("show", help="parties, validity, standing, purposes")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=_agreement_show)
    suspend = agreement_commands.add_parser("suspend", help="refuse all access from now")
    suspend.add_argument("--reason", required=True)
    suspend.add_argument("--operator", required=True, help="who suspends (staff id)")
    suspend.set_defaults(run=_suspend)
    resume = agreement_commands.add_parser("resume", help="lift a suspension")
    resume.add_argument("--operator", required=True)
    resume.set_defaults(run=_resume)
