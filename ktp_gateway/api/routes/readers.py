"""Readers: what is attached, whether a card and a SAM are in, whether it is busy."""

from __future__ import annotations

from fastapi import APIRouter

from ktp_gateway.api.deps import ReadersDep
from ktp_gateway.api.models import ReaderOut, ReadersResponse

router = APIRouter(prefix="/v1/readers", tags=["readers"])


@router.get("", response_model=ReadersResponse)
async def list_readers(service: ReadersDep) -> ReadersResponse:
    readers = await service.list_readers()
    return ReadersResponse(
        readers=[ReaderOut.model_validate(r, from_attributes=True) for r in readers]
    )
