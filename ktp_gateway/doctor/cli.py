"""`ktp-gateway doctor [--json] [--env-file FILE] [--timeout S] [--warn-days N] [--expect-virtual]`.

Exit status: 0 every line OK, 1 at least one WARN, 2 at least one FAIL (SKIP lines follow a
FAIL, so they add nothing). `--env-file` reads the same KEY=VALUE file the systemd unit gives
the service, so the doctor sees what `serve` sees.
"""

from __future__ import annotations

import argparse
import os
import shlex
from pathlib import Path
from typing import Any

from ktp_gateway import __version__
from ktp_gateway.doctor.checks import DESK_FAMILIES, FAMILIES
from ktp_gateway.doctor.context import Options, load_context, load_desk_context
from ktp_gateway.doctor.model import Report, Status, worst
from ktp_gateway.doctor.render import as_json, text
from ktp_gateway.doctor.runner import run_families
from ktp_gateway.errors import ConfigurationError
from ktp_gateway.observability.logs import configure_logging

_STATUS = {0: Status.OK, 1: Status.WARN, 2: Status.FAIL}


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them (comments, optional quotes)."""
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"env file {path} cannot be read ({exc.strerror})") from None
    values = {}
    for number, raw in enumerate(content.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ConfigurationError(f"env file {path}, line {number}: expected KEY=VALUE")
        words = shlex.split(value, posix=True) if value.strip() else [""]
        values[key.strip()] = " ".join(words)
    return values


def run(args: argparse.Namespace) -> int:
    """Run every check; print the report; the worst line is the exit status."""
    configure_logging("WARNING")  # to stderr, redacted: stdout is the report (maybe JSON)
    if args.env_file is not None:
        os.environ.update(read_env_file(args.env_file))
    options = Options(
        timeout=args.timeout, warn_days=args.warn_days, expect_virtual=args.expect_virtual
    )
    if args.desk:
        lines, seconds = run_families(DESK_FAMILIES, load_desk_context(options))
    else:
        lines, seconds = run_families(FAMILIES, load_context(options))
    code = worst(lines)
    report = Report(
        version=__version__,
        status=_STATUS[code],
        exit_status=int(code),
        seconds=round(seconds, 3),
        lines=lines,
    )
    print(as_json(report) if args.json else text(report), flush=True)
    return int(code)


def add_parser(commands: Any) -> None:
    """Register `doctor` on the main parser's subcommands."""
    doctor = commands.add_parser(
        "doctor",
        help="check pcscd, readers, SAM, agreement, Dukcapil, clock and configuration",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    doctor.add_argument("--json", action="store_true", help="machine-readable report")
    doctor.add_argument(
        "--env-file", type=Path, default=None, help="KEY=VALUE settings, as the systemd unit's"
    )
    doctor.add_argument(
        "--timeout", type=float, default=10.0, help="seconds each check may take (default 10)"
    )
    doctor.add_argument(
        "--warn-days", type=int, default=30, help="warn this many days before an expiry"
    )
    doctor.add_argument(
        "--expect-virtual",
        action="store_true",
        help="a test machine: the virtual reader and a synthetic agreement are expected",
    )
    doctor.add_argument(
        "--desk",
        action="store_true",
        help="on a desk PC: its readers, its enrolment and the access point (docs/desks.md)",
    )
    doctor.set_defaults(run=run)
