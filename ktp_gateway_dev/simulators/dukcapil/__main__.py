"""`python -m ktp_gateway_dev.simulators.dukcapil`: a simulated Dukcapil as a real HTTP server."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr

from ktp_gateway_dev.simulators.dukcapil.config import (
    DEFAULT_PASSWORD,
    DEFAULT_PORT,
    DEFAULT_RETURN_TOKEN,
    DEFAULT_USER_ID,
    Fault,
    FaultMode,
    SimulatorConfig,
    Style,
)

USER_ID_ENV = "DUKCAPIL_SIM_USER_ID"
PASSWORD_ENV = "DUKCAPIL_SIM_PASSWORD"  # noqa: S105 (the variable's name, not a password)
RETURN_TOKEN_ENV = "DUKCAPIL_SIM_RETURN_TOKEN"  # noqa: S105 (the variable's name)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ktp_gateway_dev.simulators.dukcapil")
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="bind address (loopback unless --allow-remote)")
    add("--port", type=int, default=DEFAULT_PORT)
    add("--style", choices=[s.value for s in Style], default=Style.LEGACY.value)
    add("--latency-ms", type=int, default=0, help="delay before every CALL_NIK answer")
    add("--consumer-path", default="lpsk/ws", help="the agency's path segment(s)")
    # Credentials may come from the environment, which keeps them out of the process list.
    user_id = os.environ.get(USER_ID_ENV, DEFAULT_USER_ID)
    password = os.environ.get(PASSWORD_ENV, DEFAULT_PASSWORD)
    add("--user-id", default=user_id, help=f"(default: ${USER_ID_ENV} or a synthetic one)")
    add("--password", default=password, help=f"(default: ${PASSWORD_ENV} or a synthetic one)")
    token = os.environ.get(RETURN_TOKEN_ENV, DEFAULT_RETURN_TOKEN)
    add("--return-token", default=token, help=f"data balikan Bearer token (${RETURN_TOKEN_ENV})")
    add("--check-peer-ip", action="store_true", help="also refuse TCP peers off the allow-list")
    add("--allowed-ip", action="append", help="ip_user values accepted (repeat; default 127.0.0.1)")
    add("--quota", type=int, default=None, help="lookups left today (default: no quota)")
    add("--fault", choices=[m.value for m in FaultMode], default=FaultMode.NONE.value)
    add("--fault-count", type=int, default=None, help="requests the fault lasts (default: all)")
    add("--people", type=Path, default=None, help="synthetic people YAML (default: the shared one)")
    add("--tls-cert", type=Path, default=None, help="serve HTTPS with this PEM certificate")
    add("--tls-key", type=Path, default=None, help="the certificate's PEM private key")
    add("--allow-remote", action="store_true", help="allow a non-loopback bind (admin is open)")
    add("--access-log", action="store_true", help="uvicorn access log (paths only, no bodies)")
    return parser


def _config(args: argparse.Namespace) -> SimulatorConfig:
    return SimulatorConfig(
        consumer_path=args.consumer_path,
        style=Style(args.style),
        latency_ms=args.latency_ms,
        user_id=args.user_id,
        password=SecretStr(args.password),
        allowed_ips=tuple(args.allowed_ip or ("127.0.0.1",)),
        quota=args.quota,
        fault=Fault(mode=FaultMode(args.fault), count=args.fault_count),
        people_file=args.people,
        return_token=SecretStr(args.return_token),
        check_peer_ip=args.check_peer_ip,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse flags and serve until interrupted."""
    args = _parser().parse_args(argv)
    if not args.allow_remote and not ipaddress.ip_address(args.host).is_loopback:
        print("refusing a non-loopback bind without --allow-remote", file=sys.stderr)
        return 2
    if (args.tls_cert is None) != (args.tls_key is None):
        print("--tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    import uvicorn

    from ktp_gateway_dev.simulators.dukcapil.app import create_app

    uvicorn.run(
        create_app(_config(args)),
        host=args.host,
        port=args.port,
        access_log=args.access_log,
        log_level="warning",
        timeout_graceful_shutdown=1,
        ssl_certfile=args.tls_cert,
        ssl_keyfile=args.tls_key,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
