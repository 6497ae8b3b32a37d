"""NIK lookups: the registry path, without a card (e.g. a case file that holds only a NIK)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from ktp_gateway.api.auth import CallerDep, limit_officer
from ktp_gateway.api.deps import ServicesDep
from ktp_gateway.api.models import NikLookupRequest, NikLookupResponse, Source
from ktp_gateway.api.routes.verifications import REGISTRY_SOURCE
from ktp_gateway.least_data import effective_fields, release
from ktp_gateway.nik import validate_nik
from ktp_gateway.privacy.policy import Operation, current_request_id

router = APIRouter(prefix="/v1/nik-lookups", tags=["registry"])


@router.post("", response_model=NikLookupResponse)
async def create_lookup(
    body: NikLookupRequest, services: ServicesDep, caller: CallerDep
) -> NikLookupResponse:
    """The granted fields Dukcapil holds for a NIK; a malformed NIK never leaves the gateway."""
    fields = effective_fields(body, caller.fields & services.policy.gate.granted)
    who = body.accountability(caller.name)
    limit_officer(services, who.officer_id)
    async with services.policy.access(
        Operation.NIK_LOOKUP, who, request_id=current_request_id()
    ) as access:
        access.effective = frozenset(fields.effective)
        nik = validate_nik(body.nik)
        data = await access.registry(services.registry).query_nik(nik)
        released = release(access.release(data, source="registry"), fields)
        access.outcome = "found"
        return NikLookupResponse(
            id=uuid.uuid4().hex,
            data=released,
            fields=fields,
            source=Source(
                registry=REGISTRY_SOURCE,
                agreement=services.policy.agreement.reference,
                agency=services.settings.agreement.agency,
            ),
        )
