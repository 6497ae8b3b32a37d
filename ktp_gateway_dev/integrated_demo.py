"""`ktp-gateway demo --reader integrated [--finger match|no_match|none]`: one tap on an
integrated reader, through real parts: the reader emulator on a pseudo-terminal (which the
gateway opens with pyserial, as a USB virtual COM port), the Dukcapil simulator and the gateway
as processes. With `--finger`, the request asks for the holder's fingerprint and the emulated
holder puts that finger on the sensor. No pcscd is needed.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Literal

from ktp_gateway.specs import load_specs
from ktp_gateway_dev.demo import (
    DEMO_ACCOUNTABILITY,
    TAP_DELAY_SECONDS,
    WAIT_FOR_CARD_SECONDS,
    demo_client,
    gateway_env,
    gateway_process,
    post_json,
    render,
    simulator_process,
)
from ktp_gateway_dev.simulators.integrated import IntegratedReaderEmulator
from ktp_gateway_dev.simulators.population import load_population
from ktp_gateway_dev.stack.processes import free_port

PROFILE_ID = "len442-integrated"
Finger = Literal["match", "no_match", "none"]


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(f"- {message}", flush=True)


async def run_integrated_demo(
    *, person: str = "budi", finger: Finger | None = None, as_json: bool = False, port: int = 0
) -> int:
    """Tap `person`'s card on the emulated integrated reader; exit status 0 on HTTP 200."""
    if load_population().by_key(person).card is None:
        raise SystemExit(f"synthetic person {person!r} has no KTP-el (registry only)")
    profile = load_specs().integrated[PROFILE_ID]
    password = secrets.token_urlsafe(16)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="ktp-integrated-demo-") as tmp:
        root = Path(tmp)
        _say(as_json, "starting the integrated reader emulator on a pseudo-terminal")
        emulator = IntegratedReaderEmulator(profile, link=root / "ttyACM-demo0")
        stack.callback(emulator.close)
        simulator_port, gateway_port = free_port(), port or free_port()
        api_key, clients = demo_client(root)
        _say(as_json, "starting the Dukcapil simulator and the gateway")
        stack.enter_context(simulator_process(simulator_port, password, root))
        env = gateway_env(
            gateway_port, simulator_port, password, data_dir=root / "data", clients_file=clients
        )
        env["KTP_GATEWAY_READER__SERIAL_PORTS"] = json.dumps([str(root / "ttyACM-*")])
        env["KTP_GATEWAY_READER__FINGER_TIMEOUT_SECONDS"] = "3"
        stack.enter_context(gateway_process(gateway_port, env, root))
        name = f"{profile.models[0]} {emulator.info[1]}"
        body: dict[str, object] = {
            **DEMO_ACCOUNTABILITY,
            "reader": name,
            "wait_seconds": WAIT_FOR_CARD_SECONDS,
        }
        if finger is not None:
            body["holder_check"] = "fingerprint"
        held = f", the holder's finger: {finger}" if finger else ""
        _say(as_json, f"POST /v1/verifications on '{name}'; tapping {person}'s card{held}")

        async def tap() -> None:
            await asyncio.sleep(TAP_DELAY_SECONDS)
            emulator.place(person, finger=finger or "match")

        url = f"http://127.0.0.1:{gateway_port}/v1/verifications"
        (status, answer), _ = await asyncio.gather(
            asyncio.to_thread(post_json, url, body, api_key=api_key), tap()
        )
        emulator.remove()
    if as_json:
        print(json.dumps({"http_status": status, "response": answer}, indent=2))
    else:
        print(render(status, answer))
    return 0 if status == 200 else 1
