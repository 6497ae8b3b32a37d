"""`ktp-gateway`: serve the API, list readers, and the operators' commands of each package.

The dev stack's `demo` and `canary` come in through the `ktp_gateway.commands` entry points,
so the product never imports the dev stack.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from ktp_gateway import __version__
from ktp_gateway.errors import GatewayError

if TYPE_CHECKING:
    from ktp_gateway.config import ReaderSettings
    from ktp_gateway.specs import Specs

COMMANDS_GROUP = "ktp_gateway.commands"  # each entry point: a function(subparsers) -> None


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ktp_gateway.api.app import create_app
    from ktp_gateway.config import Settings
    from ktp_gateway.observability.logs import configure_logging
    from ktp_gateway.privacy.hardening import harden

    harden()  # before any secret or personal data is in memory: no core dump, not dumpable
    settings = Settings()
    configure_logging(
        settings.log.level,
        json=settings.log.json_output,
        allow_apdu_trace=settings.log.allow_apdu_trace,
    )
    if args.workers != 1:
        from ktp_gateway.api.workers import serve_workers

        serve_workers(settings, args.workers, port=args.port)
        return 0
    from ktp_gateway.api.server import server_config

    uvicorn.Server(server_config(create_app(settings), settings, port=args.port)).run()
    return 0


def _readers(args: argparse.Namespace) -> int:
    from ktp_gateway.config import ReaderSettings
    from ktp_gateway.errors import ReaderError
    from ktp_gateway.observability.logs import configure_logging
    from ktp_gateway.specs import load_specs

    configure_logging("WARNING", json=False)  # stdout is the listing (or its JSON)
    reader = _reader_settings() or ReaderSettings()
    specs = load_specs(reader.specs_dir)
    if args.watch:
        from ktp_gateway.reader.watch import watch

        return watch(
            as_json=args.json,
            seconds=args.seconds,
            integrated=reader.integrated_readers(specs),
            poll_seconds=reader.serial_poll_seconds,
        )
    try:
        rows = _pcsc_rows(specs)
        pcsc_error = None
    except ReaderError as exc:
        rows, pcsc_error = [], exc.detail
    rows += _integrated_rows(reader, specs)
    if args.json:
        print(json.dumps({"readers": rows, "pcsc_error": pcsc_error}, indent=2))
        return 0
    if pcsc_error:
        print(f"PC/SC: {pcsc_error}")
    if not rows:
        print("No reader attached (PC/SC, or integrated on a serial port).")
        return 0
    print(f"{'READER':<34} {'FAMILY':<10} {'ROLE':<10} {'PROFILE':<18} {'CARD':<5} ATR / PORT")
    for row in rows:
        card = "yes" if row["card_present"] else "no"
        profile, atr = row["profile"] or "-", row["atr"] or row.get("port") or "-"
        family, role = row["family"], row["role"]
        print(f"{row['name']:<34} {family:<10} {role:<10} {profile:<18} {card:<5} {atr}")
    return 0


def _reader_settings() -> ReaderSettings | None:
    """The reader section as `serve` reads it (serial ports), or None if the settings don't
    load here (a desk, or no agreement file): the defaults then."""
    from ktp_gateway.config import Settings

    try:
        return Settings().reader
    except Exception:  # listing readers must work before the gateway is configured
        return None


def _pcsc_rows(specs: Specs) -> list[dict[str, object]]:
    from ktp_gateway.reader.smartcard.pairs import find_pairs
    from ktp_gateway.reader.smartcard.pcsc import PcscContext

    with PcscContext() as context:
        names = context.list_readers()
        statuses = {s.name: s for s in context.statuses(names)}
        pairs = {p.card_reader: p for p in find_pairs(names, specs)}
    sam_slots = {p.sam_reader for p in pairs.values()}
    rows: list[dict[str, object]] = []
    for name in names:
        pair = pairs.get(name)
        role = "card slot" if pair else ("SAM slot" if name in sam_slots else "unpaired")
        status = statuses[name]
        rows.append(
            {
                "name": name,
                "family": "pcsc",
                "role": role,
                "profile": pair.profile.id if pair else None,
                "paired_with": pair.sam_reader if pair else None,
                "card_present": status.card_present,
                "atr": status.atr.hex().upper() or None,
            }
        )
    return rows


def _integrated_rows(reader: ReaderSettings, specs: Specs) -> list[dict[str, object]]:
    service = reader.integrated_readers(specs)
    if service is None:
        return []
    try:
        found = service.scan()
    finally:
        service.close()
    return [
        {
            "name": info.name,
            "family": "integrated",
            "role": "integrated",
            "profile": info.profile,
            "paired_with": None,
            "card_present": info.card_present,
            "atr": None,
            "port": info.path,
        }
        for info in found
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ktp-gateway", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ktp-gateway {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="run the REST API (settings from KTP_GATEWAY_* / a config file)"
    )
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="registry API processes; more than 1 needs shared.backend postgres "
        "(docs/operator-guide.md)",
    )
    serve.set_defaults(run=_serve)

    readers = commands.add_parser(
        "readers", help="list PC/SC readers and how the profiles pair them"
    )
    readers.add_argument("--json", action="store_true", help="machine-readable output")
    readers.add_argument("--watch", action="store_true", help="follow reader and card events live")
    readers.add_argument(
        "--seconds", type=float, default=None, help="with --watch: stop after this long"
    )
    readers.set_defaults(run=_readers)

    from ktp_gateway.callers.cli import register as register_keys

    register_keys(commands)

    from ktp_gateway.specs.check import add_parser as add_spec_parser

    add_spec_parser(commands)

    from ktp_gateway.returns.cli import add_parser as add_returns_parser

    add_returns_parser(commands)

    from ktp_gateway.audit.cli import add_commands as add_audit_commands

    add_audit_commands(commands)  # audit verify|prune, report, agreement, canary

    from ktp_gateway.desks.cli import add_parser as add_desks_parser

    add_desks_parser(commands)  # access point: desks enrol|revoke|list

    from ktp_gateway.desk_agent.cli import add_parser as add_desk_parser

    add_desk_parser(commands)  # the officer's PC: desk [run], desk enrol

    from ktp_gateway.doctor.cli import add_parser as add_doctor_parser

    add_doctor_parser(commands)
    for plugin in entry_points(group=COMMANDS_GROUP):
        plugin.load()(commands)  # e.g. the dev stack's demo and canary (ktp_gateway_dev)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except GatewayError as exc:
        print(f"error: {exc.detail} [{exc.code.value}]", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    raise SystemExit(main())
