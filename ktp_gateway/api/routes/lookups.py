"""NIK lookups: the registry path, without a card (e.g. a case file that holds only a NIK)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from ktp_gateway.api.auth import CallerDep
from ktp_gateway.api.deps import ServicesDep
from ktp_gateway.api.models import NikLookupRequest, NikLookupResponse, Source
from ktp_gateway.api.routes.verifications import REGISTRY_SOURCE
from ktp_gateway.least_data import effective_fields, release
from ktp_gateway.nik import validate_nik

router = APIRouter(prefix="/v1/nik-lookups", tags=["registry"])


@router.post("", response_model=NikLookupResponse)
async def create_lookup(
    body: NikLookupRequest, services: ServicesDep, caller: CallerDep
) -> NikLookupResponse:
    """The granted fields Dukcapil holds for a NIK; a malformed NIK never leaves the gateway."""
    fields = effective_fields(body, caller.fields)
    nik = validate_nik(body.nik)
    data = await services.registry.query_nik(nik)
    agreement = services.settings.agreement
    return NikLookupResponse(
        id=uuid.uuid4().hex,
        data=release(data, fields),
        fields=fields,
        source=Source(
            registry=REGISTRY_SOURCE, agreement=agreement.reference, agency=agreement.agency
        ),
    )
