"""`ktp-gateway desk [run]` and `ktp-gateway desk enrol`: the desk agent on the officer's PC."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path


def _enrol(args: argparse.Namespace) -> int:
    from ktp_gateway.desk_agent.identity import enrol
    from ktp_gateway.desk_agent.settings import DeskAgentSettings

    directory = args.dir or DeskAgentSettings().dir
    identity = asyncio.run(enrol(args.access_point, args.code, args.server_ca, directory))
    print(
        f"Enrolled as desk {identity.desk} at {identity.url}; key and certificate in {directory}."
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    from ktp_gateway.desk_agent.agent import DeskAgent
    from ktp_gateway.desk_agent.identity import DeskIdentity
    from ktp_gateway.desk_agent.settings import DeskAgentSettings
    from ktp_gateway.observability.logs import configure_logging
    from ktp_gateway.privacy.hardening import harden
    from ktp_gateway.reader.events import EventSource
    from ktp_gateway.reader.monitor import ReaderMonitor
    from ktp_gateway.reader.serial.monitor import SerialMonitor
    from ktp_gateway.reader.service import ReaderService
    from ktp_gateway.specs import load_specs

    harden()  # before any card data is in memory: no core dump, not dumpable
    settings = DeskAgentSettings()
    log = settings.log
    configure_logging(log.level, json=log.json_output, allow_apdu_trace=log.allow_apdu_trace)
    identity = DeskIdentity.load(settings.dir)
    specs = load_specs(settings.reader.specs_dir)
    integrated = settings.reader.integrated_readers(specs, only=frozenset(settings.readers))
    readers = ReaderService(
        specs,
        settings.activation.load(specs, agency=settings.agency),
        check_signature=settings.reader.check_signature,
        card_timeout=settings.reader.card_timeout_seconds,
        sam_hold_seconds=settings.reader.sam_hold_seconds,
        only=frozenset(settings.readers),
        integrated=integrated,
    )
    readers.check_activations()
    monitors: list[EventSource] = []  # events for the access point's SSE stream
    if settings.reader.monitor:
        monitors.append(ReaderMonitor())
        if integrated is not None:
            interval = settings.reader.serial_poll_seconds
            monitors.append(SerialMonitor(integrated, interval=interval))
    agent = DeskAgent(identity, readers, settings, monitors=monitors)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await agent.run(stop)

    for monitor in monitors:
        monitor.start()
    try:
        asyncio.run(main())
    finally:
        for monitor in monitors:
            monitor.stop()
        readers.close()
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    desk = commands.add_parser(
        "desk", help="the desk agent: this PC's readers, connected out to the access point"
    )
    desk.set_defaults(run=_run)
    sub = desk.add_subparsers(dest="desk_command")
    sub.add_parser("run", help="run the agent (the default)").set_defaults(run=_run)
    enrol = sub.add_parser("enrol", help="enrol this desk with a one-time code")
    enrol.add_argument("--access-point", required=True, help="wss://HOST:PORT of the desk channel")
    enrol.add_argument("--code", required=True, help="from `ktp-gateway desks enrol NAME`")
    enrol.add_argument(
        "--server-ca", type=Path, required=True, help="CA of the access point's TLS certificate"
    )
    enrol.add_argument("--dir", type=Path, default=None, help="default: the settings' desk dir")
    enrol.set_defaults(run=_enrol)
