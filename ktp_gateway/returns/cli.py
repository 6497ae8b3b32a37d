"""`ktp-gateway returns list|retry|rekey`: the outbox as an operator sees it, from the settings.

Works on the store directly (SQLite file or PostgreSQL), so it also works while the gateway is
stopped; a running gateway picks retried items up at its next poll.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from ktp_gateway.dukcapil_client.returns_wire import ReturnOutcome
from ktp_gateway.errors import ConfigurationError
from ktp_gateway.returns.backends import open_store
from ktp_gateway.returns.models import ItemStatus
from ktp_gateway.returns.outbox import Outbox
from ktp_gateway.returns.rotation import rekey, usage
from ktp_gateway.returns.service import sealer_for
from ktp_gateway.returns.settings import ReturnDataSettings


class _NoSender:
    async def send_return_data(
        self, nik: str, nomor_register: str, nomor_sk: str, *, idempotency_key: str
    ) -> ReturnOutcome:
        raise AssertionError("the CLI never delivers")  # pragma: no cover


def _settings() -> ReturnDataSettings:
    from ktp_gateway.config import Settings
    from ktp_gateway.observability.logs import configure_logging

    every = Settings()
    configure_logging(every.log.level, json=every.log.json_output)  # to stderr: stdout is output
    settings = every.return_data
    if not settings.enabled:
        raise ConfigurationError("return data is not enabled (KTP_GATEWAY_RETURN_DATA__ENABLED)")
    return settings


def _outbox() -> Outbox:
    settings = _settings()
    return Outbox(settings, open_store(settings), sealer_for(settings), _NoSender())


async def _list(args: argparse.Namespace) -> int:
    listing = await _outbox().list(args.status, args.limit)
    if args.json:
        print(listing.model_dump_json(indent=2))
        return 0
    counts = ", ".join(f"{status} {count}" for status, count in listing.counts.model_dump().items())
    print(f"outbox: {counts}")
    for item in listing.items:
        due = item.next_attempt_at.isoformat(timespec="seconds") if item.next_attempt_at else "-"
        print(
            f"{item.id}  {item.status.value:<10} {item.nik_masked or '?':<16} "
            f"tries {item.attempts:<3} next {due:<25} {item.last_error or ''}"
        )
    return 0


async def _retry(args: argparse.Namespace) -> int:
    if not args.all and not args.id:
        raise ConfigurationError("name an item id, or --all for every dead item")
    count = await _outbox().retry(None if args.all else args.id)
    print(json.dumps({"retried": count}) if args.json else f"{count} item(s) back in the queue")
    return 0


def _rekey(args: argparse.Namespace) -> int:
    settings = _settings()
    store, sealer = open_store(settings), sealer_for(settings)
    done = rekey(store, sealer)
    left = usage(store, sealer)
    counts = {
        "resealed": done.resealed,
        "already_current": done.current,
        "unopenable": done.unopenable,
        "gone": done.gone,
        "under_previous_key": left.previous,
    }
    if args.json:
        print(json.dumps(counts))
    else:
        print(
            f"{done.resealed} item(s) re-sealed under key {sealer.key_id}, "
            f"{done.current} already were; {left.previous} still under a previous key, "
            f"{left.unopenable} that no configured key opens"
        )
    if left.previous or left.unopenable:
        return 1  # keep the previous key(s): something still needs them (or a missing one)
    return 0


def run(args: argparse.Namespace) -> int:
    """Entry point of the `returns` subcommand."""
    if args.action == "rekey":
        return _rekey(args)
    return asyncio.run(_list(args) if args.action == "list" else _retry(args))


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `returns list|retry|rekey` on the main parser."""
    returns = commands.add_parser("returns", help="the data balikan outbox: list, retry, rekey")
    actions = returns.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="items still in the outbox, with counts")
    listing.add_argument("--status", choices=[s.value for s in ItemStatus], default=None)
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true")
    retry = actions.add_parser("retry", help="put dead-lettered item(s) back in the queue")
    retry.add_argument("id", nargs="?", default=None)
    retry.add_argument("--all", action="store_true", help="every dead item")
    retry.add_argument("--json", action="store_true")
    rekey_parser = actions.add_parser(
        "rekey", help="re-seal every item under the current key (then drop the previous keys)"
    )
    rekey_parser.add_argument("--json", action="store_true")
    returns.set_defaults(run=run)
