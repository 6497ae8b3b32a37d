"""`ktp-gateway desks enrol|revoke|list`: the administrator's commands on the access point."""

from __future__ import annotations

import argparse
import json

from ktp_gateway.config import Settings
from ktp_gateway.desks.ca import DeskCa, utc_now
from ktp_gateway.desks.roster import DeskRoster


def _settings() -> Settings:
    return Settings()  # the access point's settings, read when a command runs


def _enrol(args: argparse.Namespace) -> int:
    settings = _settings()
    desks = settings.desks
    DeskCa.open(desks.dir, agency=settings.agreement.agency)  # made now if this is the first desk
    roster = DeskRoster(desks.dir)
    now = utc_now()
    try:
        code = roster.invite(args.name, minutes=desks.code_minutes, now=now)
    finally:
        roster.close()
    url = f"wss://{desks.host}:{desks.port}"
    if args.json:
        print(json.dumps({"desk": args.name, "code": code, "minutes": desks.code_minutes}))
        return 0
    print(f"One-time enrolment code for desk {args.name} (valid {desks.code_minutes:g} minutes):")
    print(f"  {code}")
    print("On the desk, as the desk agent's user:")
    print(f"  ktp-gateway desk enrol --access-point {url} --code {code} --server-ca CA.pem")
    print("(CA.pem: the CA that signed this access point's TLS certificate.)")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    roster = DeskRoster(_settings().desks.dir)
    try:
        roster.revoke(args.name, now=utc_now())
    finally:
        roster.close()
    print(f"Desk {args.name} is revoked: its certificate is refused from now on.")
    return 0


def _list(args: argparse.Namespace) -> int:
    roster = DeskRoster(_settings().desks.dir)
    try:
        entries = roster.entries()
    finally:
        roster.close()
    rows = [
        {
            "name": e.name,
            "state": e.state,
            "enrolled_at": e.enrolled_at.isoformat() if e.enrolled_at else None,
            "certificate_not_after": (
                e.certificate_not_after.isoformat() if e.certificate_not_after else None
            ),
            "code_pending": e.code_pending,
        }
        for e in entries
    ]
    if args.json:
        print(json.dumps({"desks": rows}, indent=2))
        return 0
    if not rows:
        print("No desks are enrolled.")
    for row in rows:
        until = row["certificate_not_after"] or "-"
        print(f"{row['name']:<24} {row['state']:<9} certificate until {until}")
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    desks = commands.add_parser(
        "desks", help="enrol, revoke and list desk agents (on the access point)"
    )
    sub = desks.add_subparsers(dest="desks_command", required=True)
    enrol = sub.add_parser("enrol", help="a one-time code with which a desk agent enrols")
    enrol.add_argument("name", help="the desk's name: lowercase letters, digits, '-'")
    enrol.add_argument("--json", action="store_true")
    enrol.set_defaults(run=_enrol)
    revoke = sub.add_parser("revoke", help="cut a desk off at once, connected or not")
    revoke.add_argument("name")
    revoke.set_defaults(run=_revoke)
    listing = sub.add_parser("list", help="the desks the roster knows")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_list)
