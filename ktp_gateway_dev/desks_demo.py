"""`ktp-gateway demo --desks N`: an office with desks on the virtual stack, through real parts.

The access point (`serve` with HTTPS and the desk channel), the Dukcapil simulator and N desk
agents, each enrolled with a one-time code through the real commands and serving one of the
virtual reader units; then a tap at the last desk, answered by the access point.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import tempfile
from contextlib import ExitStack
from pathlib import Path

from ktp_gateway_dev.demo import (
    DEMO_ACCOUNTABILITY,
    TAP_DELAY_SECONDS,
    WAIT_FOR_CARD_SECONDS,
    demo_client,
    gateway_env,
    render,
    simulator_process,
)
from ktp_gateway_dev.simulators.population import load_population
from ktp_gateway_dev.stack.desks import Desk, access_point
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.pki import dev_server_pki
from ktp_gateway_dev.stack.processes import free_port
from ktp_gateway_dev.stack.virtual import VirtualReaderPair

MAX_DESKS = 2  # the virtual stack has two reader units (card + SAM slot each)


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(f"- {message}", flush=True)


async def run_desks_demo(*, desks: int, person: str = "budi", as_json: bool = False) -> int:
    """Tap `person`'s card at the last of `desks` desks; exit status 0 on HTTP 200."""
    if not 1 <= desks <= MAX_DESKS:
        raise SystemExit(f"--desks is 1 to {MAX_DESKS} on the virtual stack (one per reader unit)")
    if load_population().by_key(person).card is None:
        raise SystemExit(f"synthetic person {person!r} has no KTP-el (registry only)")
    password = secrets.token_urlsafe(16)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="ktp-desks-demo-") as tmp:
        root = Path(tmp)
        _say(as_json, "starting pcscd (virtual readers), the virtual SAMs, Dukcapil simulator")
        stack.enter_context(PcscdService(log_path=root / "pcscd.log"))
        units = [VirtualReaderPair(), VirtualReaderPair.second()][:desks]
        pairs = [stack.enter_context(unit) for unit in units]
        simulator_port = free_port()
        api_key, clients = demo_client(root)
        stack.enter_context(simulator_process(simulator_port, password, root))
        base = gateway_env(0, simulator_port, password, data_dir=root / "ap", clients_file=clients)
        point = access_point(base, dev_server_pki(root / "pki"), root / "ap")
        point.api_key = api_key
        _say(
            as_json,
            f"starting the access point (HTTPS {point.api_port}, desks {point.channel_port})",
        )
        stack.enter_context(point.process(root / "access-point.log"))
        for number, pair in enumerate(pairs, start=1):
            desk = Desk(f"meja-{number}", root / f"meja-{number}", [pair.card_reader])
            _say(as_json, f"enrolling desk {desk.name} (one-time code) and starting its agent")
            desk.enrol(point, os.environ)
            stack.enter_context(desk.process(point, os.environ, root / f"{desk.name}.log"))
        name, pair = f"meja-{desks}", pairs[-1]
        _say(as_json, f"POST /v1/verifications at desk {name}; tapping {person}'s card there")
        body = {**DEMO_ACCOUNTABILITY, "desk": name, "wait_seconds": WAIT_FOR_CARD_SECONDS}

        async def tap() -> None:
            await asyncio.sleep(TAP_DELAY_SECONDS)
            await asyncio.to_thread(pair.place, person)

        (status, answer), _ = await asyncio.gather(
            asyncio.to_thread(point.post, "/v1/verifications", body), tap()
        )
        pair.remove()
    if as_json:
        print(json.dumps({"http_status": status, "response": answer}, indent=2))
    else:
        print(render(status, answer))
    return 0 if status == 200 else 1
