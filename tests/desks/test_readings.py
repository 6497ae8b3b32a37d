"""Readings from a desk are checked before the NIK goes anywhere: a hand-driven (hostile) desk
on the real channel answers taps with replayed, late, foreign, tampered or unbound readings."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ktp_gateway.desk_agent.identity import DeskIdentity
from ktp_gateway.desks.ca import utc_now
from ktp_gateway.desks.frames import (
    Hello,
    Reading,
    ReadingPayload,
    TapFailed,
    TapRequest,
    parse_to_desk,
)
from ktp_gateway.desks.readings import digest, sign
from ktp_gateway.desks.remote import RemoteReader
from ktp_gateway.desks.transport import Link
from ktp_gateway.domain import GrantedField, PersonData
from ktp_gateway.errors import DeskError, ErrorCode, GatewayError
from tests.desks.conftest import ChannelRig, eventually
from tests.desks.test_channel import raw_link

SAM = "a1b2c3d4e5f60718"
FIELDS = frozenset({GrantedField.NIK, GrantedField.NAMA_LENGKAP})
PERSON = PersonData(nik="3171011505809901", nama_lengkap="CONTOH FIKTIF SAJA")

Forge = Callable[[Reading], Reading]


def honest(request: TapRequest, identity: DeskIdentity, **statement: object) -> Reading:
    """The reading a correct desk would send for `request` (fields as asked)."""
    payload = ReadingPayload(person=PERSON)
    values: dict[str, object] = {
        "tap": request.tap,
        "nonce": request.nonce,
        "desk": identity.desk,
        "reader": "Virtual PCD 00 00",
        "sam_serial": SAM,
        "card_authenticated": True,
        "signature_checks": ["sam"],
        "read_at": dt.datetime.now(dt.UTC),
        "digest": digest(payload),
        **statement,
    }
    from ktp_gateway.desks.frames import ReadingStatement

    signed = ReadingStatement.model_validate(values)
    return Reading(
        tap=request.tap,
        statement=signed,
        payload=payload,
        signature=sign(signed, identity.private_key()),
        seconds=0.2,
        waited_seconds=0.0,
        card_apdus=35,
        sam_apdus=34,
    )


async def _hostile(link: Link, answer: Callable[[TapRequest], str]) -> None:
    await link.send(Hello(version="0", readers=[]).model_dump_json())
    parse_to_desk(await link.receive())  # welcome
    request = parse_to_desk(await link.receive())
    assert isinstance(request, TapRequest)
    assert set(request.fields) == {f for f in FIELDS}  # least data: only what is released
    await link.send(answer(request))
    await asyncio.sleep(0.5)


async def _tap_through(
    rig: ChannelRig, identity: DeskIdentity, answer: Callable[[TapRequest], str]
) -> object:
    async with raw_link(rig, identity) as link:
        desk = asyncio.create_task(_hostile(link, answer))
        await eventually(lambda: rig.hub.view(identity.desk).connected)
        reader = RemoteReader(rig.hub, identity.desk, fields=FIELDS, photo=False)
        try:
            return await reader.read(None, wait_seconds=1)
        except GatewayError as exc:
            return exc.code
        finally:
            await desk


async def test_an_honest_reading_becomes_the_card_reading(rig: ChannelRig, tmp_path: Path) -> None:
    identity = await rig.enrol("meja-1", tmp_path / "desk")
    reading = await _tap_through(rig, identity, lambda r: honest(r, identity).model_dump_json())
    assert not isinstance(reading, ErrorCode)
    assert reading.person == PERSON and reading.sam_serial == SAM  # type: ignore[attr-defined]
    assert reading.card_traffic.apdus == 35  # type: ignore[attr-defined]


def _other_key_signature(request: TapRequest, identity: DeskIdentity) -> str:
    forged = honest(request, identity)
    resigned = sign(forged.statement, ec.generate_private_key(ec.SECP256R1()))
    return forged.model_copy(update={"signature": resigned}).model_dump_json()


def _tampered_payload(request: TapRequest, identity: DeskIdentity) -> str:
    reading = honest(request, identity)
    other = ReadingPayload(person=PERSON.model_copy(update={"nama_lengkap": "NAMA LAIN FIKTIF"}))
    return reading.model_copy(update={"payload": other}).model_dump_json()


CASES: dict[str, tuple[Callable[[TapRequest, DeskIdentity], str], ErrorCode]] = {
    "replayed-nonce": (
        lambda r, i: honest(r, i, nonce="an-old-nonce-from-before-x").model_dump_json(),
        ErrorCode.DESK_READING_REPLAYED,
    ),
    "late": (
        lambda r, i: honest(
            r, i, read_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        ).model_dump_json(),
        ErrorCode.DESK_READING_LATE,
    ),
    "names-another-desk": (
        lambda r, i: honest(r, i, desk="meja-2").model_dump_json(),
        ErrorCode.DESK_READING_FOREIGN,
    ),
    "signed-by-another-key": (_other_key_signature, ErrorCode.DESK_READING_TAMPERED),
    "data-changed-after-signing": (_tampered_payload, ErrorCode.DESK_READING_TAMPERED),
    "sam-of-another-desk": (
        lambda r, i: honest(r, i, sam_serial="ffffffffffffffff").model_dump_json(),
        ErrorCode.DESK_SAM_NOT_BOUND,
    ),
    "desk-error-passes-through": (
        lambda r, i: TapFailed(tap=r.tap, code="sam_locked", detail="x").model_dump_json(),
        ErrorCode.SAM_LOCKED,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_a_bad_reading_is_refused_with_its_own_code(
    rig: ChannelRig, tmp_path: Path, case: str
) -> None:
    identity = await rig.enrol("meja-1", tmp_path / "desk")
    if case == "sam-of-another-desk":  # enrolled later, it tapped through that SAM first
        await rig.enrol("meja-2", tmp_path / "other")
        assert rig.hub.roster.bind_sam("meja-2", "ffffffffffffffff", now=utc_now())
    forge, code = CASES[case]
    outcome = await _tap_through(rig, identity, lambda r: forge(r, identity))
    assert outcome is code


async def test_a_sam_bound_to_one_desk_moves_only_by_re_enrolment(
    rig: ChannelRig, tmp_path: Path
) -> None:
    second = await rig.enrol("meja-2", tmp_path / "two")
    first = await rig.enrol("meja-1", tmp_path / "one")
    assert await _tap_through(rig, first, lambda r: honest(r, first).model_dump_json())
    # The SAM is carried to meja-2 (enrolled before the SAM was bound to meja-1):
    outcome = await _tap_through(rig, second, lambda r: honest(r, second).model_dump_json())
    assert outcome is ErrorCode.DESK_SAM_NOT_BOUND
    assert rig.hub.roster.holder_of(SAM) == "meja-1"
    # The administrator re-enrols meja-2: its next reading through the SAM takes it over.
    second = await rig.enrol("meja-2", tmp_path / "two")
    reading = await _tap_through(rig, second, lambda r: honest(r, second).model_dump_json())
    assert not isinstance(reading, ErrorCode)
    assert rig.hub.roster.holder_of(SAM) == "meja-2"


async def test_an_unknown_or_absent_desk_fails_at_once(rig: ChannelRig, tmp_path: Path) -> None:
    await rig.enrol("meja-1", tmp_path / "desk")
    for desk, code in (
        ("meja-404", ErrorCode.DESK_NOT_FOUND),
        ("meja-1", ErrorCode.DESK_NOT_CONNECTED),
    ):
        reader = RemoteReader(rig.hub, desk, fields=FIELDS, photo=False)
        with pytest.raises(DeskError) as refused:
            await asyncio.wait_for(reader.read(None, wait_seconds=30), 1)
        assert refused.value.code is code


async def test_a_desk_lost_mid_tap_fails_the_tap_at_once(rig: ChannelRig, tmp_path: Path) -> None:
    identity = await rig.enrol("meja-1", tmp_path / "desk")
    reader = RemoteReader(rig.hub, "meja-1", fields=FIELDS, photo=False)
    async with raw_link(rig, identity) as link:
        await link.send(Hello(version="0", readers=[]).model_dump_json())
        parse_to_desk(await link.receive())
        tap = asyncio.create_task(reader.read(None, wait_seconds=30))
        assert isinstance(parse_to_desk(await link.receive()), TapRequest)
        await link.close()
    with pytest.raises(DeskError) as lost:
        await asyncio.wait_for(tap, 2)
    assert lost.value.code is ErrorCode.DESK_UNAVAILABLE


async def test_an_answer_for_a_tap_never_asked_is_refused_and_counted(
    rig: ChannelRig, tmp_path: Path
) -> None:
    identity = await rig.enrol("meja-1", tmp_path / "desk")
    stray = TapRequest(tap="0" * 32, nonce="n" * 24, wait_seconds=0, fields=[GrantedField.NIK])
    async with raw_link(rig, identity) as link:
        await link.send(Hello(version="0", readers=[]).model_dump_json())
        parse_to_desk(await link.receive())
        await link.send(honest(stray, identity).model_dump_json())
        refused = parse_to_desk(await link.receive())
    assert refused.type == "refused" and refused.code == "desk_frame_invalid"  # type: ignore[union-attr]
    assert rig.observer.refused["desk_frame_invalid"] == 1
