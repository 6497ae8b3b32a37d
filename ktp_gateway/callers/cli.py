"""`ktp-gateway keys`: API keys for client applications (shown once, stored only as a hash)."""

from __future__ import annotations

import argparse
import sys

import yaml

from ktp_gateway.callers.keys import hash_key, new_key, parse_key


def _new(args: argparse.Namespace) -> int:
    key_id, key = new_key()
    entry = {"id": key_id, "hash": hash_key(key)}
    if args.not_after:
        entry["not_after"] = args.not_after
    snippet = yaml.safe_dump({"clients": [{"name": args.client, "keys": [entry]}]}, sort_keys=False)
    print(f"API key for {args.client} (give it to the client application; it is not shown again):")
    print(f"\n  {key}\n")
    print("Add this to the clients file (a new key next to an old one rotates without downtime):\n")
    print(snippet, end="")
    return 0


def _hash(_args: argparse.Namespace) -> int:
    key = sys.stdin.readline().strip()
    if parse_key(key) is None:
        print("error: stdin does not hold a gateway API key (kgw_...)", file=sys.stderr)
        return 2
    print(hash_key(key))
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `keys new` and `keys hash` to the gateway's CLI."""
    keys = commands.add_parser("keys", help="make API keys for client applications")
    sub = keys.add_subparsers(dest="keys_command", required=True)
    new = sub.add_parser("new", help="a new random key and its clients-file entry")
    new.add_argument("--client", required=True, help="the client application's name")
    new.add_argument("--not-after", default=None, help="last day the key is valid (YYYY-MM-DD)")
    new.set_defaults(run=_new)
    hashed = sub.add_parser("hash", help="the clients-file hash of a key read from stdin")
    hashed.set_defaults(run=_hash)
