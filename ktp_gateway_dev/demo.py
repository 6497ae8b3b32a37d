"""`ktp-gateway demo`: one officer's tap on the virtual stack, through the real parts.

pcscd with the vpcd readers, the virtual SAM and card, the Dukcapil simulator and the gateway each
run for real; the demo then calls the REST API as the case application would, places the card
while the request waits for it, prints the answer, and stops everything it started.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ktp_gateway.callers.keys import hash_key, new_key
from ktp_gateway.privacy.agreement import DEMO_AGREEMENT_FILE
from ktp_gateway_dev.simulators.activation import record_json, virtual_records
from ktp_gateway_dev.simulators.population import load_population
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.processes import ManagedProcess, free_port
from ktp_gateway_dev.stack.virtual import VirtualReaderPair

TAP_DELAY_SECONDS = 0.5  # the officer taps shortly after the case application asks
WAIT_FOR_CARD_SECONDS = 15.0
DEMO_USER_ID = "DEMO-LPSK-01"
DEMO_CONSUMER_PATH = "demo/lpsk"
DEMO_CLIENT = "demo-case-app"  # the client application the demo plays
# Who asks and why: every card or registry request names them (the audit trail records them).
DEMO_ACCOUNTABILITY = {
    "officer_id": "PETUGAS-DEMO-01",
    "purpose": "perlindungan_saksi",
    "nomor_register": "REG-DEMO/2026/0001",
}
COLUMN = 36  # width of the card and registry columns


def simulator_process(port: int, password: str, log_dir: Path) -> ManagedProcess:
    """The Dukcapil simulator the demo's gateway is wired to (`gateway_env`), not yet started."""
    return ManagedProcess.python_module(
        "Dukcapil simulator",
        "ktp_gateway_dev.simulators.dukcapil",
        "--host", "127.0.0.1", "--port", str(port), "--consumer-path", DEMO_CONSUMER_PATH,
        ready_url=f"http://127.0.0.1:{port}/_simulator/stats",
        env={"DUKCAPIL_SIM_USER_ID": DEMO_USER_ID, "DUKCAPIL_SIM_PASSWORD": password},
        log_path=log_dir / "dukcapil-simulator.log",
    )  # fmt: skip


def gateway_process(port: int, env: dict[str, str], log_dir: Path) -> ManagedProcess:
    """`ktp-gateway serve` with these settings, ready once /healthz answers (not yet started)."""
    return ManagedProcess.python_module(
        "gateway",
        "ktp_gateway.cli",
        "serve",
        ready_url=f"http://127.0.0.1:{port}/healthz",
        env=env,
        log_path=log_dir / "gateway.log",
    )


def demo_client(directory: Path) -> tuple[str, Path]:
    """A fresh API key for the demo's case application and the clients file that admits it."""
    key_id, key = new_key()
    path = directory / "clients.yaml"
    entry = {"name": DEMO_CLIENT, "keys": [{"id": key_id, "hash": hash_key(key)}]}
    path.write_text(yaml.safe_dump({"clients": [entry]}), encoding="utf-8")
    path.chmod(0o600)
    return key, path


def gateway_env(
    gateway_port: int,
    simulator_port: int,
    password: str,
    *,
    data_dir: Path | None = None,
    clients_file: Path | None = None,
) -> dict[str, str]:
    """Settings for a gateway wired to the virtual reader and the simulator (test-only secrets).

    With `clients_file` the gateway authenticates its callers (as in production).
    """
    data = data_dir or Path(tempfile.gettempdir()) / "ktp-gateway-demo"
    auth = {"KTP_GATEWAY_AUTH__CLIENTS_FILE": str(clients_file)} if clients_file else {}
    return {
        **auth,
        "KTP_GATEWAY_API__PORT": str(gateway_port),
        # the virtual readers' signed activation records (test-only values), a secret from env
        "KTP_GATEWAY_ACTIVATION__RECORD": record_json(virtual_records()),
        "KTP_GATEWAY_DUKCAPIL__BASE_URL": f"http://127.0.0.1:{simulator_port}",
        "KTP_GATEWAY_DUKCAPIL__CONSUMER_PATH": DEMO_CONSUMER_PATH,
        "KTP_GATEWAY_DUKCAPIL__USER_ID": DEMO_USER_ID,
        "KTP_GATEWAY_DUKCAPIL__PASSWORD": password,
        "KTP_GATEWAY_DUKCAPIL__IP_USER": "127.0.0.1",
        "KTP_GATEWAY_AGREEMENT__FILE": str(DEMO_AGREEMENT_FILE),  # synthetic, says so
        "KTP_GATEWAY_AGREEMENT__SUSPENSION_FILE": str(data / "agreement.suspended"),
        "KTP_GATEWAY_AUDIT__DIR": str(data / "audit"),
        "KTP_GATEWAY_LOG__JSON_OUTPUT": "true",
    }


def post_json(
    url: str, body: dict[str, Any], *, api_key: str | None = None
) -> tuple[int, dict[str, Any]]:
    """POST as the case application does; the status and the JSON body (also on errors)."""
    headers = {"Content-Type": "application/json"}
    if api_key is not None:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(  # noqa: S310 - loopback URL built here
        url,
        data=json.dumps(body).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WAIT_FOR_CARD_SECONDS + 30) as response:  # noqa: S310
            return int(response.status), dict(json.load(response))
    except urllib.error.HTTPError as error:
        return int(error.code), dict(json.load(error))


async def _tap(pair: VirtualReaderPair, person: str) -> None:
    await asyncio.sleep(TAP_DELAY_SECONDS)
    await asyncio.to_thread(pair.place, person)


@dataclass(frozen=True, slots=True)
class VirtualStack:
    """A running virtual stack: the reader pair to place cards on, and the gateway's address."""

    pair: VirtualReaderPair
    gateway_url: str
    api_key: str  # generated per run; the gateway holds only its hash


@contextmanager
def virtual_stack(
    *, port: int = 0, extra_env: dict[str, str] | None = None
) -> Iterator[VirtualStack]:
    """pcscd, the virtual SAM, the Dukcapil simulator and the gateway, stopped on exit.

    `extra_env` adds gateway settings (the benchmark raises the rate limits with it).
    """
    password = secrets.token_urlsafe(16)  # per run: the simulator and the gateway share it
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="ktp-demo-") as tmp:
        log_dir = Path(tmp)
        stack.enter_context(PcscdService(log_path=log_dir / "pcscd.log"))
        pair = stack.enter_context(VirtualReaderPair())
        simulator_port, gateway_port = free_port(), port or free_port()
        api_key, clients_file = demo_client(log_dir)
        stack.enter_context(simulator_process(simulator_port, password, log_dir))
        env = gateway_env(
            gateway_port, simulator_port, password, data_dir=log_dir / "data",
            clients_file=clients_file,
        )  # fmt: skip
        stack.enter_context(gateway_process(gateway_port, env | (extra_env or {}), log_dir))
        yield VirtualStack(
            pair=pair, gateway_url=f"http://127.0.0.1:{gateway_port}", api_key=api_key
        )


async def run_demo(*, person: str = "budi", as_json: bool = False, port: int = 0) -> int:
    """Run one tap end to end; exit status 0 when the gateway answered 200."""
    if load_population().by_key(person).card is None:
        raise SystemExit(f"synthetic person {person!r} has no KTP-el (registry only)")
    _say(as_json, "starting pcscd (virtual readers), the virtual SAM, Dukcapil simulator, gateway")
    with virtual_stack(port=port) as running:
        _say(as_json, f"POST /v1/verifications (waiting for a card); tapping {person}'s card")
        url = f"{running.gateway_url}/v1/verifications"
        body = {**DEMO_ACCOUNTABILITY, "wait_seconds": WAIT_FOR_CARD_SECONDS}
        (status, answer), _ = await asyncio.gather(
            asyncio.to_thread(post_json, url, body, api_key=running.api_key),
            _tap(running.pair, person),
        )
        running.pair.remove()
    if as_json:
        print(json.dumps({"http_status": status, "response": answer}, indent=2))
    else:
        print(render(status, answer))
    return 0 if status == 200 else 1


def _say(quiet: bool, message: str) -> None:
    if not quiet:
        print(f"- {message}", flush=True)


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        parts = [
            value.get("alamat"),
            f"RT {value.get('rt')}/RW {value.get('rw')}",
            value.get("kelurahan"),
        ]
        return ", ".join(str(p) for p in parts if p)
    return str(value)


def _card_line(card: dict[str, Any]) -> str:
    if card.get("signature_checked_by") == ["device"]:
        return "  card       read and authenticated inside the integrated reader"
    signed = "; issuer signature verified" if card["signature_verified"] else ""
    return f"  card       authenticated through the SAM{signed}"


def _holder_lines(check: dict[str, Any] | None) -> list[str]:
    if not check:
        return []
    finger = (check.get("finger") or "-").replace("_", " ")
    return [f"  holder     {check['method']} ({finger}) on the device: {check['result']}"]


def render(status: int, answer: dict[str, Any]) -> str:
    """The verification as an officer reads it."""
    if status != 200:
        headline = (
            f"verification failed: HTTP {status} [{answer.get('code')}] {answer.get('title')}"
        )
        return f"{headline}\n  {answer.get('hint')}"
    card, registry = answer["card"], answer["registry"]
    card_data, registry_data = card["data"], registry.get("data") or {}
    lines = [
        "",
        f"  outcome    {answer['outcome'].upper()}",
        *([f"  desk       {card['desk']}"] if card.get("desk") else []),
        f"  reader     {card['reader']}",
        _card_line(card),
        *_holder_lines(answer.get("holder_check")),
        f"  registry   Dukcapil: {registry['status']}",
        "",
        f"  {'field':<18} {'card':<{COLUMN}} {'registry':<{COLUMN}} result",
    ]
    comparison = answer["comparison"] or {field: "" for field in card_data}
    for field, result in comparison.items():
        on_card, in_registry = _show(card_data.get(field)), _show(registry_data.get(field))
        lines.append(
            f"  {field:<18} {on_card[:COLUMN]:<{COLUMN}} {in_registry[:COLUMN]:<{COLUMN}} {result}"
        )
    timings, apdus = answer["timings"], answer["apdus"]
    lines += [
        "",
        f"  timings    waited {timings['wait_for_card_ms']:.0f} ms for the card;"
        f" read {timings['card_ms']:.0f} ms"
        f" ({apdus['card']} card APDUs, {apdus['sam']} SAM APDUs);"
        f" registry {timings['registry_ms']:.0f} ms; total {timings['total_ms']:.0f} ms",
        f"  source     {answer['source']['agreement']}: {answer['source']['notice']}",
    ]
    return "\n".join(lines)
