"""The desk channel through real TLS and WebSocket on loopback: enrolment, who may connect,
revocation, bad frames, reconnection and renewal. (Real desk processes: test_desk_processes.py.)"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from ktp_gateway.desk_agent.agent import DeskAgent
from ktp_gateway.desk_agent.identity import CERT, KEY, DeskIdentity, signing_request
from ktp_gateway.desk_agent.settings import DeskAgentSettings
from ktp_gateway.desks.ca import load_csr, utc_now
from ktp_gateway.desks.frames import Hello, Refused, parse_to_desk
from ktp_gateway.desks.identity import DESK_URI
from ktp_gateway.desks.tls import desk_context
from ktp_gateway.desks.transport import Heartbeat, dial
from ktp_gateway.errors import DeskError, ErrorCode
from ktp_gateway.reader.service import ReaderService
from ktp_gateway.sam.binding import Activations
from ktp_gateway.specs import load_specs
from ktp_gateway_dev.stack.pki import self_signed_ca
from tests.desks.conftest import ChannelRig, eventually

BEAT = Heartbeat(interval_seconds=0.5, timeout_seconds=1.0)


def _agent(identity: DeskIdentity) -> DeskAgent:
    readers = ReaderService(load_specs(), Activations([], agency="LPSK"))
    settings = DeskAgentSettings(
        dir=identity.directory, reconnect_min_seconds=0.1, reconnect_max_seconds=0.5
    )
    return DeskAgent(identity, readers, settings)


@asynccontextmanager
async def running(agent: DeskAgent) -> AsyncIterator[DeskAgent]:
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        yield agent
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        agent.readers.close()


@asynccontextmanager
async def raw_link(rig: ChannelRig, identity: DeskIdentity | None, path: str = "/channel"):  # type: ignore[no-untyped-def]
    context = identity.context() if identity else desk_context(rig.pki.ca, None, None)
    async with dial(
        f"{rig.url}{path}", context=context, max_frame_bytes=1 << 20, heartbeat=BEAT
    ) as link:
        yield link


async def test_a_desk_enrols_with_a_one_time_code_and_keeps_its_key(
    rig: ChannelRig, tmp_path: Path
) -> None:
    code = rig.hub.roster.invite("meja-1", minutes=5, now=utc_now())
    from ktp_gateway.desk_agent.identity import enrol

    identity = await enrol(rig.url, code, rig.pki.ca, tmp_path / "desk")
    assert identity.desk == "meja-1" and identity.url == rig.url
    assert (tmp_path / "desk" / KEY).stat().st_mode & 0o077 == 0
    key = serialization.load_pem_private_key((tmp_path / "desk" / KEY).read_bytes(), None)
    certificate = x509.load_pem_x509_certificate((tmp_path / "desk" / CERT).read_bytes())
    assert certificate.public_key() == key.public_key()
    assert rig.hub.roster.entry("meja-1").state == "enrolled"  # type: ignore[union-attr]
    with pytest.raises(DeskError) as again:  # single use
        await enrol(rig.url, code, rig.pki.ca, tmp_path / "other")
    assert again.value.code is ErrorCode.DESK_ENROLMENT_REFUSED
    assert rig.observer.enrolments == {"enrolled": 1, "desk_enrolment_refused": 1}


async def test_an_enrolled_desk_connects_and_shows_up_then_goes_away(
    rig: ChannelRig, tmp_path: Path
) -> None:
    identity = await rig.enrol("meja-1", tmp_path / "desk")
    async with running(_agent(identity)) as agent:
        await asyncio.wait_for(agent.connected.wait(), 5)
        await eventually(lambda: rig.hub.view("meja-1").connected)
        view = rig.hub.view("meja-1")
        assert view.version and view.last_seen_at is not None
    await eventually(lambda: not rig.hub.view("meja-1").connected)
    assert rig.hub.view("meja-1").last_seen_at is not None
    with pytest.raises(DeskError) as gone:
        rig.hub.session("meja-1")
    assert gone.value.code is ErrorCode.DESK_NOT_CONNECTED
    with pytest.raises(DeskError) as unknown:
        rig.hub.session("meja-404")
    assert unknown.value.code is ErrorCode.DESK_NOT_FOUND


async def test_the_channel_needs_the_desks_certificate(rig: ChannelRig) -> None:
    async with raw_link(rig, None) as link:
        frame = parse_to_desk(await link.receive())
    assert isinstance(frame, Refused) and frame.code == "unauthorized"


def _foreign_identity(rig: ChannelRig, directory: Path, *, expired: bool) -> DeskIdentity:
    """A desk-shaped certificate for an enrolled desk: from another CA, or expired."""
    directory.mkdir(parents=True)
    (directory / "server-ca.crt").write_bytes(rig.pki.ca.read_bytes())
    csr = load_csr(signing_request(directory).encode())
    now = utc_now()
    if expired:
        issued = rig.hub.ca.issue(csr, "meja-1", days=1, now=now - dt.timedelta(days=3))
        pem = issued.pem
    else:
        other, other_key = self_signed_ca("FIKTIF other CA")
        pem = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meja-1")]))
            .issuer_name(other.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(DESK_URI + "meja-1")]),
                critical=False,
            )
            .sign(other_key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM)
        )
    (directory / CERT).write_bytes(pem)
    (directory / "access-point.json").write_text(f'{{"url": "{rig.url}"}}')
    return DeskIdentity.load(directory)


@pytest.mark.parametrize("expired", [False, True], ids=["another-ca", "expired"])
async def test_a_foreign_or_expired_certificate_fails_the_handshake(
    rig: ChannelRig, tmp_path: Path, expired: bool
) -> None:
    await rig.enrol("meja-1", tmp_path / "desk")
    foreign = _foreign_identity(rig, tmp_path / "foreign", expired=expired)
    with pytest.raises(DeskError) as refused:
        async with raw_link(rig, foreign) as link:
            await link.send(Hello(version="0", readers=[]).model_dump_json())
            await link.receive()
    assert refused.value.code is ErrorCode.DESK_UNAVAILABLE  # no WebSocket ever opened


async def test_revoking_cuts_a_connected_desk_off_and_keeps_it_out(
    rig: ChannelRig, tmp_path: Path
) -> None:
    identity = await rig.enrol("meja-1", tmp_path / "desk")
    async with running(_agent(identity)) as agent:
        await asyncio.wait_for(agent.connected.wait(), 5)
        rig.hub.roster.revoke("meja-1", now=utc_now())  # as `ktp-gateway desks revoke` does
        await eventually(lambda: not rig.hub.view("meja-1").connected, seconds=3)
        await asyncio.sleep(1.0)  # the agent keeps knocking: the handshake refuses it each time
        assert not agent.connected.is_set() and not rig.hub.view("meja-1").connected
    with pytest.raises(DeskError):
        async with raw_link(rig, identity) as link:
            await link.send(Hello(version="0", readers=[]).model_dump_json())
            await link.receive()


async def test_bad_frames_are_refused_and_counted_and_the_desk_stays(
    rig: ChannelRig, tmp_path: Path
) -> None:
    identity = await rig.enrol("meja-1", tmp_path / "desk")
    async with raw_link(rig, identity) as link:
        await link.send(Hello(version="0", readers=[]).model_dump_json())
        parse_to_desk(await link.receive())  # welcome
        for garbage in ("not json", '{"type": "status", "readers": 5}', '{"type": "tap"}', "[]"):
            await link.send(garbage)
            frame = parse_to_desk(await link.receive())
            assert isinstance(frame, Refused) and frame.code == "desk_frame_invalid"
        assert rig.hub.view("meja-1").connected
    assert rig.observer.refused["desk_frame_invalid"] == 4


async def test_an_oversized_frame_drops_that_desk_and_the_hub_serves_others(
    rig: ChannelRig, tmp_path: Path
) -> None:
    hostile = await rig.enrol("meja-1", tmp_path / "hostile")
    polite = await rig.enrol("meja-2", tmp_path / "polite")
    async with running(_agent(polite)) as agent:
        await asyncio.wait_for(agent.connected.wait(), 5)
        async with raw_link(rig, hostile) as link:
            await link.send(Hello(version="0", readers=[]).model_dump_json())
            parse_to_desk(await link.receive())
            await link.send("x" * (rig.settings.max_frame_bytes + 1))
            with pytest.raises(DeskError):
                await link.receive()
        await eventually(lambda: not rig.hub.view("meja-1").connected)
        assert rig.hub.view("meja-2").connected


async def test_a_desk_reconnects_by_itself_after_the_access_point_restarts(
    rig: ChannelRig, tmp_path: Path
) -> None:
    identity = await rig.enrol("meja-1", tmp_path / "desk")
    async with running(_agent(identity)) as agent:
        await asyncio.wait_for(agent.connected.wait(), 5)
        await rig.stop()
        await eventually(lambda: not agent.connected.is_set())
        await asyncio.sleep(0.5)  # a few refused attempts while it is down
        await rig.start()
        await asyncio.wait_for(agent.connected.wait(), 10)
        await eventually(lambda: rig.hub.view("meja-1").connected)


async def test_a_desk_renews_its_certificate_over_the_live_connection(
    rig: ChannelRig, tmp_path: Path
) -> None:
    rig.settings.renew_before_days = 365  # every certificate is due: renew at once
    identity = await rig.enrol("meja-1", tmp_path / "desk")
    before = x509.load_pem_x509_certificate((identity.directory / CERT).read_bytes())
    async with running(_agent(identity)) as agent:
        await asyncio.wait_for(agent.connected.wait(), 5)

        def renewed() -> bool:
            now = x509.load_pem_x509_certificate((identity.directory / CERT).read_bytes())
            return now.serial_number != before.serial_number

        await eventually(renewed)
    after = x509.load_pem_x509_certificate((identity.directory / CERT).read_bytes())
    assert rig.hub.roster.holds("meja-1", after.serial_number)
    assert not rig.hub.roster.holds("meja-1", before.serial_number)
    async with running(_agent(DeskIdentity.load(identity.directory))) as agent:
        await asyncio.wait_for(agent.connected.wait(), 5)  # the new certificate opens the channel
