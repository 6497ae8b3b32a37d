"""NIK lookups: the registry path, without a card (e.g. a case file that holds only a NIK).

On request, also the registry's face photo and the members of the person's Kartu Keluarga:
each is one more Dukcapil query, asked only after the NIK was found and only if the agreement
and the client allow it. Any query failing fails the whole lookup with its typed error
(docs/calling-the-gateway.md): nothing is released in part.
"""

from __future__ import annotations

import base64
import uuid

from fastapi import APIRouter

from ktp_gateway.api.auth import CallerDep, limit_officer
from ktp_gateway.api.deps import ServicesDep
from ktp_gateway.api.models import (
    FamilyMemberOut,
    NikLookupRequest,
    NikLookupResponse,
    Photo,
    Source,
)
from ktp_gateway.api.routes.verifications import REGISTRY_SOURCE
from ktp_gateway.domain import FacePhoto, FamilyMember
from ktp_gateway.least_data import FieldSet, effective_fields, release, require_parts
from ktp_gateway.nik import validate_nik
from ktp_gateway.privacy.policy import Access, Operation, current_request_id

router = APIRouter(prefix="/v1/nik-lookups", tags=["registry"])

PHOTO_SOURCE = "Dukcapil face photo query"
FAMILY_SOURCE = "Dukcapil family card (KK) query"


def _registry_source(body: NikLookupRequest) -> str:
    parts = [REGISTRY_SOURCE]
    parts += [PHOTO_SOURCE] if body.include_photo else []
    parts += [FAMILY_SOURCE] if body.include_family else []
    return "; ".join(parts)


def _photo(access: Access, asked: FacePhoto) -> Photo:
    photo = access.release_photo(asked)
    return Photo(content_type=photo.content_type, base64=base64.b64encode(photo.data).decode())


def _family(members: list[FamilyMember], fields: FieldSet) -> list[FamilyMemberOut]:
    return [
        FamilyMemberOut(hubungan_keluarga=m.hubungan_keluarga, data=release(m.person, fields))
        for m in members
    ]


@router.post("", response_model=NikLookupResponse)
async def create_lookup(
    body: NikLookupRequest, services: ServicesDep, caller: CallerDep
) -> NikLookupResponse:
    """The granted fields Dukcapil holds for a NIK; a malformed NIK never leaves the gateway."""
    fields = effective_fields(body, caller.fields & services.policy.gate.granted)
    require_parts(
        photo=body.include_photo,
        family=body.include_family,
        photo_allowed=caller.photo,
        family_allowed=caller.family,
    )
    who = body.accountability(caller.name)
    limit_officer(services, who.officer_id)
    async with services.policy.access(
        Operation.NIK_LOOKUP,
        who,
        request_id=current_request_id(),
        photo=body.include_photo,
        family=body.include_family,
    ) as access:
        access.effective = frozenset(fields.effective)
        nik = validate_nik(body.nik)
        registry = access.person_registry(services.registry)
        data = await registry.query_nik(nik)
        asked_photo = await registry.query_photo(nik) if body.include_photo else None
        members = await registry.query_family(nik) if body.include_family else None
        # Released (and audited as released) only once every query has answered: all or nothing.
        released = release(access.release(data, source="registry"), fields)
        photo = None if asked_photo is None else _photo(access, asked_photo)
        family = None if members is None else _family(access.release_family(members), fields)
        access.outcome = "found"
        return NikLookupResponse(
            id=uuid.uuid4().hex,
            data=released,
            fields=fields,
            photo=photo,
            family=family,
            source=Source(
                registry=_registry_source(body),
                agreement=services.policy.agreement.reference,
                agency=services.settings.agreement.agency,
            ),
        )
