"""The dev stack's commands on the `ktp-gateway` command line: `demo` and `canary`.

The product's CLI never imports this package: it loads every `ktp_gateway.commands` entry point
(pyproject.toml), and this is the one the repository's own distribution declares.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from ktp_gateway_dev.canary_run import CanaryRun
from ktp_gateway_dev.demo import run_demo


def _demo(args: argparse.Namespace) -> int:
    if args.finger and args.reader != "integrated":
        raise SystemExit("--finger needs --reader integrated (only it matches on the device)")
    if args.reader == "integrated":
        if args.desks:
            raise SystemExit("--desks runs the PC/SC virtual readers; drop --reader integrated")
        from ktp_gateway_dev.integrated_demo import run_integrated_demo

        return asyncio.run(
            run_integrated_demo(
                person=args.person, finger=args.finger, as_json=args.json, port=args.port
            )
        )
    if args.desks:
        from ktp_gateway_dev.desks_demo import run_desks_demo

        return asyncio.run(run_desks_demo(desks=args.desks, person=args.person, as_json=args.json))
    return asyncio.run(run_demo(person=args.person, as_json=args.json, port=args.port))


def _canary(args: argparse.Namespace) -> int:
    run = CanaryRun(verifications_per_card=args.verifications, desks=args.desks)
    try:
        report = run.run()
    finally:
        if not args.keep:
            run.cleanup()
    summary = report.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(render_canary(summary))
    return 0 if report.passed else 1


def render_canary(summary: dict[str, Any]) -> str:
    """The canary run's closing note, as people read it."""
    lines = [
        f"canary run: {'PASSED, zero hits' if summary['passed'] else 'FAILED'}",
        f"  {summary['canary_identities']} canary identities, {summary['verifications']} "
        f"verifications, {summary['nik_lookups']} NIK lookups, {summary['error_responses']} "
        "error responses provoked",
        f"  {summary['values_searched']} values searched in {summary['needles_searched']} forms "
        f"(plain, lower case, URL-encoded, hex, base64 at three alignments)",
        f"  {summary['places_searched']} places: {', '.join(summary['places'])}",
        f"  {summary['files_searched']} files and {summary['texts_searched']} captured texts, "
        f"{summary['bytes_searched']} bytes, in {summary['seconds']} s",
        f"  hits: {len(summary['hits'])}",
    ]
    lines += [f"    {hit}" for hit in summary["hits"]]
    lines += [f"  unexpected answer: {u}" for u in summary["unexpected_answers"]]
    return "\n".join(lines)


def register(commands: Any) -> None:
    """Add `demo` and `canary` to the command line's subcommands."""
    demo = commands.add_parser("demo", help="one officer's tap on the virtual reader, end to end")
    demo.add_argument("--json", action="store_true", help="print the verification result as JSON")
    demo.add_argument(
        "--person", default="budi", help="synthetic person whose card is placed (default: budi)"
    )
    demo.add_argument("--port", type=int, default=0, help="gateway port (default: a free one)")
    demo.add_argument(
        "--desks",
        type=int,
        default=0,
        help="an office with N desk agents (1-2 on the virtual stack) and one access point",
    )
    demo.add_argument(
        "--reader",
        choices=("pcsc", "integrated"),
        default="pcsc",
        help="pcsc: the virtual card and SAM through pcscd (default); integrated: the "
        "integrated-reader emulator on a serial pseudo-terminal",
    )
    demo.add_argument(
        "--finger",
        choices=("match", "no_match", "none"),
        default=None,
        help="with --reader integrated: ask for the holder's fingerprint; the finger put on",
    )
    demo.set_defaults(run=_demo)
    canary = commands.add_parser(
        "canary", help="prove no storage: canary identities through the virtual stack, then search"
    )
    canary.add_argument("--verifications", type=int, default=40, help="per canary card")
    canary.add_argument("--json", action="store_true")
    canary.add_argument("--keep", action="store_true", help="keep the run's directory")
    canary.add_argument(
        "--desks",
        action="store_true",
        help="read cards through a desk agent; search the desk's places too (docs/desks.md)",
    )
    canary.set_defaults(run=_canary)
