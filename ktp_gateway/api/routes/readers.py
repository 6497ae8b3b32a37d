"""Readers: what is attached, whether a card and a SAM are in, whether it is busy."""

from __future__ import annotations

from fastapi import APIRouter

from ktp_gateway.api.deps import ServicesDep
from ktp_gateway.api.models import ReaderOut, ReadersResponse

router = APIRouter(prefix="/v1/readers", tags=["readers"])


@router.get("", response_model=ReadersResponse)
async def list_readers(services: ServicesDep) -> ReadersResponse:
    readers = await services.readers.list_readers()
    return ReadersResponse(
        readers=[ReaderOut.model_validate(r, from_attributes=True) for r in readers]
    )
