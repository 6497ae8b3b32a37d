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
from ktp_gateway.api.deps import RegistryDep, ServicesDep
from ktp_gateway.api.models import (
    FamilyMemberOut,
    NikLookupRequest,
    NikLookupResponse,
    Photo,
    Source,
)
from ktp_gateway.api.routes.verifications import REGISTRY_SOURCE
from ktp_gateway.domain import FacePhoto, FamilyMember
from ktp_gateway.nik import validate_nik
from ktp_gateway.privacy.least_data import FieldSet, effective_fields, release, require_parts
from ktp_gateway.privacy.policy import Operation, current_request_id
from ktp_gateway.verification.lookups import look_up

router = APIRouter(prefix="/v1/nik-lookups", tags=["registry"])

PHOTO_SOURCE = "Dukcapil face photo query"
FAMILY_SOURCE = "Dukcapil family card (KK) query"


def _registry_source(body: NikLookupRequest) -> str:
    parts = [REGISTRY_SOURCE]
    parts += [PHOTO_SOURCE] if body.include_photo else []
    parts += [FAMILY_SOURCE] if body.include_family else []
    return "; ".join(parts)


def _photo(photo: FacePhoto) -> Photo:
    return Photo(content_type=photo.content_type, base64=base64.b64encode(photo.data).decode())


def _family(members: list[FamilyMember], fields: FieldSet) -> list[FamilyMemberOut]:
    return [
        FamilyMemberOut(hubungan_keluarga=m.hubungan_keluarga, data=release(m.person, fields))
        for m in members
    ]


@router.post("", response_model=NikLookupResponse)
async def create_lookup(
    body: NikLookupRequest, services: ServicesDep, registry: RegistryDep, caller: CallerDep
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
    await limit_officer(services, who.officer_id)
    async with services.policy.access(
        Operation.NIK_LOOKUP,
        who,
        request_id=current_request_id(),
        photo=body.include_photo,
        family=body.include_family,
    ) as access:
        access.effective = frozenset(fields.effective)
        nik = validate_nik(body.nik)
        found = await look_up(
            access,
            registry,
            nik,
            photo=body.include_photo,
            family=body.include_family,
        )
        return NikLookupResponse(
            id=uuid.uuid4().hex,
            data=release(found.person, fields),
            fields=fields,
            photo=None if found.photo is None else _photo(found.photo),
            family=None if found.family is None else _family(found.family, fields),
            source=Source(
                registry=_registry_source(body),
                agreement=services.policy.agreement.reference,
                agency=services.settings.agreement.agency,
            ),
        )
