"""Who am I: the authenticated client and the granted fields it may receive (its access rights)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ktp_gateway.api.auth import CallerDep
from ktp_gateway.callers.clients import AuthMethod
from ktp_gateway.domain import GrantedField

router = APIRouter(prefix="/v1/caller", tags=["callers"])


class CallerOut(BaseModel):
    client: str = Field(examples=["lpsk-case-app"])
    auth: AuthMethod
    key_id: str | None = Field(default=None, examples=["3f9a1c2b"])
    fields: list[GrantedField] = Field(description="granted fields this client may receive")
    photo: bool = Field(description="whether this client may receive face photos")
    family: bool = Field(description="whether this client may receive family card members")


@router.get("", response_model=CallerOut)
async def whoami(caller: CallerDep) -> CallerOut:
    """Lets a client check its credential and the fields it may ask for, without a card."""
    return CallerOut(
        client=caller.name,
        auth=caller.method,
        key_id=caller.key_id,
        fields=[field for field in GrantedField if field in caller.fields],
        photo=caller.photo,
        family=caller.family,
    )
