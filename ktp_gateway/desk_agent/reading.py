"""A card reading as the desk sends it: only the asked fields, signed over the tap's nonce."""

from __future__ import annotations

import base64
import datetime as dt

from cryptography.hazmat.primitives.asymmetric import ec

from ktp_gateway.desks.frames import Reading, ReadingPayload, ReadingStatement, TapRequest
from ktp_gateway.desks.readings import digest, sign
from ktp_gateway.domain import GrantedField, PersonData
from ktp_gateway.reader.card.tap import CardReading


def released(person: PersonData, fields: list[GrantedField]) -> PersonData:
    """The card's data cut to the asked fields (the NIK always: the registry is asked by it)."""
    keep = {f.value for f in fields} | {GrantedField.NIK.value}
    return PersonData.model_validate({name: value for name, value in person if name in keep})


def signed_reading(
    request: TapRequest, reading: CardReading, *, desk: str, key: ec.EllipticCurvePrivateKey
) -> Reading:
    """The desk's answer to `request`: the released data and its signed statement."""
    photo = base64.b64encode(reading.photo).decode() if request.photo and reading.photo else None
    payload = ReadingPayload(person=released(reading.person, request.fields), photo=photo)
    statement = ReadingStatement(
        tap=request.tap,
        nonce=request.nonce,
        desk=desk,
        reader=reading.reader,
        sam_serial=reading.sam_serial,
        card_authenticated=True,  # read_card returns only after the SAM authenticated the card
        signature_checks=list(reading.signature_checks),  # type: ignore[arg-type]
        read_at=dt.datetime.now(dt.UTC),
        digest=digest(payload),
        holder=reading.holder,
    )
    return Reading(
        tap=request.tap,
        statement=statement,
        payload=payload,
        signature=sign(statement, key),
        seconds=reading.seconds,
        waited_seconds=reading.waited_seconds,
        card_apdus=reading.card_traffic.apdus,
        sam_apdus=reading.sam_traffic.apdus,
    )
