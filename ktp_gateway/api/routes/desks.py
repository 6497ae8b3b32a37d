"""Desks: the desk agents enrolled at this access point, connected or not, and their readers."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ktp_gateway.api.deps import DesksDep
from ktp_gateway.api.models import DeskState, HolderCheckMethod, ReaderFamily, SamState
from ktp_gateway.desks.frames import DeskReader
from ktp_gateway.desks.hub import DeskView

router = APIRouter(prefix="/v1/desks", tags=["desks"])


class DeskReaderOut(BaseModel):
    """One reader at a desk (a PC/SC pair or an integrated reader): state only, never a
    serial or card data."""

    name: str
    family: ReaderFamily
    holder_checks: list[HolderCheckMethod] = Field(
        default=[], description="Holder checks the reader can run on the device."
    )
    profile: str
    card_present: bool
    sam_present: bool
    sam_state: SamState
    busy: bool
    last_error: str | None
    activation_state: str | None
    activation_days_left: float | None = Field(
        description="days until the SAM's activation record expires, as the desk last reported"
    )


class DeskOut(BaseModel):
    name: str
    state: DeskState
    connected: bool
    version: str | None = Field(description="the desk agent's version while connected")
    last_seen_at: dt.datetime | None
    enrolled_at: dt.datetime | None
    certificate_not_after: dt.datetime | None
    readers: list[DeskReaderOut]


class DesksResponse(BaseModel):
    desks: list[DeskOut]


def _reader(reader: DeskReader) -> DeskReaderOut:
    return DeskReaderOut.model_validate(reader.model_dump())


def desk_out(view: DeskView) -> DeskOut:
    entry = view.entry
    return DeskOut(
        name=entry.name,
        state=entry.state,  # type: ignore[arg-type]  # one of the three by construction
        connected=view.connected,
        version=view.version,
        last_seen_at=view.last_seen_at,
        enrolled_at=entry.enrolled_at,
        certificate_not_after=entry.certificate_not_after,
        readers=[_reader(r) for r in view.readers],
    )


@router.get("", response_model=DesksResponse)
async def list_desks(hub: DesksDep) -> DesksResponse:
    """Every desk enrolled (or invited) at this access point, with its live state."""
    return DesksResponse(desks=[desk_out(view) for view in hub.views()])


@router.get("/{name}", response_model=DeskOut)
async def get_desk(name: str, hub: DesksDep) -> DeskOut:
    """One desk; an unknown name is 404 `desk_not_found`."""
    return desk_out(hub.view(name))
