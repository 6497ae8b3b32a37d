"""Desks: on the access point, the roster (who is enrolled, whose certificate is not renewing);
on a desk (`doctor --desk`), its enrolment, its certificate and the access point's answer.

A desk renews its certificate over its live connection `renew_before_days` before the end, so a
certificate nearer its end than half that belongs to a desk that has not been connecting.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from ktp_gateway.desk_agent.identity import DeskIdentity
from ktp_gateway.desk_agent.settings import DeskAgentSettings
from ktp_gateway.desks.files import is_owner_only
from ktp_gateway.desks.frames import Refused, Welcome, parse_to_desk
from ktp_gateway.desks.roster import DeskEntry, DeskRoster
from ktp_gateway.desks.transport import Heartbeat, dial
from ktp_gateway.doctor.context import Context
from ktp_gateway.doctor.model import Line, fail, ok, skip, warn
from ktp_gateway.errors import GatewayError

HANG_FIX = "the access point did not answer: check the network path to its desk port"
ENROL_FIX = "enrol again: `ktp-gateway desks enrol NAME` there, `ktp-gateway desk enrol` here"
PROBE_BEAT = Heartbeat(interval_seconds=20.0, timeout_seconds=20.0)


def _days(until: dt.datetime) -> float:
    return (until - dt.datetime.now(dt.UTC)).total_seconds() / 86400


def _roster_line(entries: list[DeskEntry]) -> Line:
    states = {state: [e.name for e in entries if e.state == state] for state in
              ("enrolled", "invited", "revoked")}  # fmt: skip
    enrolled = ", ".join(states["enrolled"]) or "none"
    return ok(
        "desks",
        "desks",
        f"{len(states['enrolled'])} enrolled ({enrolled}); {len(states['invited'])} invited, "
        f"{len(states['revoked'])} revoked",
    )


def _certificate_line(entry: DeskEntry, renew_before: int) -> Line | None:
    until = entry.certificate_not_after
    if entry.state != "enrolled" or until is None:
        return None
    days = _days(until)
    if days <= 0:
        return fail("desks", "desks", f"desk {entry.name}: its certificate expired", ENROL_FIX)
    if days < renew_before / 2:
        return warn(
            "desks",
            "desks",
            f"desk {entry.name}: certificate ends in {days:.0f} days and has not been renewed",
            "the desk has not been connecting: start its agent (GET /v1/desks shows last seen)",
        )
    return None


def check_desks(context: Context) -> list[Line]:
    """On the access point: the desk channel's set-up and the roster."""
    settings = context.settings
    if settings is None:
        return [skip("desks", "desks", "the settings do not load")]
    desks = settings.desks
    if not desks.enabled:
        return [ok("desks", "desks", "off (one machine: readers on this gateway only)")]
    if settings.api.tls_cert_file is None:
        return [fail("desks", "desks", "no TLS certificate", "set KTP_GATEWAY_API__TLS_CERT_FILE")]
    key = desks.dir / "desk-ca.key"
    if key.exists() and not is_owner_only(key):
        return [fail("desks", "desks", f"{key} is readable by others", f"chmod 600 {key}")]
    roster = DeskRoster(desks.dir)
    try:
        entries = roster.entries()
    finally:
        roster.close()
    lines = [_roster_line(entries)]
    lines += [line for e in entries if (line := _certificate_line(e, desks.renew_before_days))]
    return lines


# -- on a desk -------------------------------------------------------------------------------


def check_enrolment(context: Context) -> list[Line]:
    """This desk's key and certificate, and how long the certificate lasts (from the desk's own
    settings: `doctor --desk` reads no access-point setting)."""
    try:
        identity = DeskIdentity.load(DeskAgentSettings().dir)
    except GatewayError as exc:
        return [fail("desk_enrolment", "enrolment", exc.detail, ENROL_FIX)]
    days = _days(identity.not_after)
    summary = f"desk {identity.desk} of {identity.url}; certificate ends in {days:.1f} days"
    if days <= 0:
        return [fail("desk_enrolment", "enrolment", summary, ENROL_FIX)]
    if days < 5:
        fix = "the agent renews it while connected: start it, or enrol again"
        return [warn("desk_enrolment", "enrolment", summary, fix)]
    return [ok("desk_enrolment", "enrolment", summary)]


async def _probe(identity: DeskIdentity) -> Welcome | Refused:
    url = f"{identity.url}/probe"
    async with dial(
        url, context=identity.context(), max_frame_bytes=64 * 1024, heartbeat=PROBE_BEAT
    ) as link:
        frame = parse_to_desk(await link.receive())
    if isinstance(frame, Welcome | Refused):
        return frame
    raise GatewayError("the access point answered an unexpected frame")


def check_access_point(context: Context) -> list[Line]:
    """The access point answers, and accepts this desk's certificate (without taking over the
    running agent's connection)."""
    try:
        identity = DeskIdentity.load(DeskAgentSettings().dir)
    except GatewayError:
        return [skip("desk_access_point", "access point", "this desk is not enrolled")]
    try:
        answer = asyncio.run(_probe(identity))
    except GatewayError as exc:
        fix = "open the path to the desk port; a revoked or expired desk must enrol again"
        return [fail("desk_access_point", "access point", exc.detail, fix)]
    if isinstance(answer, Refused):
        return [fail("desk_access_point", "access point", answer.detail, ENROL_FIX)]
    return [ok("desk_access_point", "access point", f"{identity.url} accepts desk {answer.desk}")]
