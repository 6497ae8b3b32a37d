"""Claims verification: yes/no per claimed field with a score, releasing no registry value.

Like Dukcapil's own verification service (and Aadhaar's Auth API), the answer says only whether
what the person claims agrees with the registry record: by a NIK the caller holds, or by the NIK
of a KTP-el authenticated on the reader (which is then not released either).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ktp_gateway.api.accountability import Accountable
from ktp_gateway.api.auth import CallerDep, limit_officer
from ktp_gateway.api.deps import RegistryDep, Services, ServicesDep, taps_of
from ktp_gateway.api.known_keys import AddressPartScores, KnownKeys, Present
from ktp_gateway.api.models import DESK_FIELD_DESCRIPTION, DeskName, NikSource, ReaderName, Source
from ktp_gateway.api.routes.verifications import CARD_SOURCE, REGISTRY_SOURCE
from ktp_gateway.claims.model import Claims
from ktp_gateway.claims.verify import ClaimResult, Thresholds, check_claims
from ktp_gateway.domain import PersonData, PersonRegistry
from ktp_gateway.nik import validate_nik
from ktp_gateway.privacy.least_data import FieldChoice, effective_fields
from ktp_gateway.privacy.policy import Access, Operation, current_request_id
from ktp_gateway.verification.findings import RegistryStatus, finding_of
from ktp_gateway.verification.tap import ask_registry

router = APIRouter(prefix="/v1/claims-verifications", tags=["claims"])

NOTICE = "No population data released: per-field agreement with the registry only."


class ClaimsVerificationRequest(Accountable):
    nik: str | None = Field(
        default=None,
        description="The NIK the claims are about; absent: a KTP-el is read on the reader.",
        examples=["3171011505809901"],
    )
    desk: DeskName | None = Field(default=None, description="card mode: " + DESK_FIELD_DESCRIPTION)
    reader: ReaderName | None = Field(default=None, description="card mode: the reader to use")
    wait_seconds: float | None = Field(default=None, ge=0, description="card mode: card wait")
    claims: Claims


class VerdictOut(BaseModel):
    result: ClaimResult
    score: int | None = Field(ge=0, le=100, description="0-100 after normalisation")
    parts: AddressPartScores | None = Field(
        default=None, description="alamat only: the score of each claimed part"
    )


class ClaimResults(KnownKeys):
    """The verdict per claimed field (keys: the fields the request claimed)."""

    nama_lengkap: Present[VerdictOut] = None
    jenis_kelamin: Present[VerdictOut] = None
    tempat_lahir: Present[VerdictOut] = None
    tanggal_lahir: Present[VerdictOut] = None
    status_perkawinan: Present[VerdictOut] = None
    jenis_pekerjaan: Present[VerdictOut] = None
    nama_ibu_kandung: Present[VerdictOut] = None
    nama_ayah: Present[VerdictOut] = None
    alamat: Present[VerdictOut] = None


class ClaimThresholds(BaseModel):
    """The scores (0-100) at or above which a claim matches: names, other text."""

    name: int = Field(ge=0, le=100, examples=[90])
    text: int = Field(ge=0, le=100, examples=[85])


class CardCheck(BaseModel):
    desk: str | None = Field(default=None, description="the desk whose reader was tapped")
    reader: str
    authenticated: bool
    signature_verified: bool


class ClaimsVerificationResponse(BaseModel):
    id: str
    nik_from: NikSource
    registry: RegistryStatus
    results: ClaimResults
    all_match: bool = Field(description="every claimed field matched")
    thresholds: ClaimThresholds
    card: CardCheck | None = None
    source: Source


async def _by_card(
    services: Services, registry: PersonRegistry, body: ClaimsVerificationRequest, access: Access
) -> tuple[RegistryStatus, PersonData | None, CardCheck]:
    # Taps only in this mode, so resolved here (reader_not_found on a gateway without readers),
    # on the same registry as the NIK mode.
    taps = taps_of(services, registry)
    result = await taps.verify(
        access, reader=body.reader, wait_seconds=body.wait_seconds, desk=body.desk
    )
    card = CardCheck(
        desk=body.desk,
        reader=result.card.reader,
        authenticated=True,
        signature_verified=result.card.signature_verified,
    )
    return result.registry_status, result.registry, card


def _outcome(status: RegistryStatus, all_match: bool) -> str:
    if status is not RegistryStatus.FOUND:
        return finding_of(status).audit  # the same word as every other route
    return "claims_match" if all_match else "claims_no_match"


@router.post("", response_model=ClaimsVerificationResponse)
async def verify_claims(
    body: ClaimsVerificationRequest,
    services: ServicesDep,
    registry: RegistryDep,
    caller: CallerDep,
) -> ClaimsVerificationResponse:
    """Match / no match per claimed field, with a normalised similarity score (0-100)."""
    allowed = caller.fields & services.policy.gate.granted
    effective_fields(FieldChoice(required_fields=body.claims.claimed()), allowed)
    who = body.accountability(caller.name)
    await limit_officer(services, who.officer_id)
    by_nik = body.nik is not None
    async with services.policy.access(
        Operation.CLAIMS_VERIFICATION, who, request_id=current_request_id()
    ) as access:
        card: CardCheck | None = None
        if body.nik is not None:
            nik = validate_nik(body.nik)
            status, record = await ask_registry(access.registry(registry), nik)
        else:
            status, record, card = await _by_card(services, registry, body, access)
        settings = services.settings.claims
        limits = Thresholds(name=settings.name_threshold, text=settings.text_threshold)
        verdicts = check_claims(body.claims, record, limits) if record is not None else {}
        matched = all(v.result is ClaimResult.MATCH for v in verdicts.values())
        all_match = bool(verdicts) and matched
        access.outcome = _outcome(status, all_match)  # no field is released: none audited
    return ClaimsVerificationResponse(
        id=uuid.uuid4().hex,
        nik_from="request" if by_nik else "card",
        registry=status,
        results=ClaimResults.model_validate(
            {
                field.value: VerdictOut(
                    result=v.result,
                    score=v.score,
                    parts=None if v.parts is None else AddressPartScores.model_validate(v.parts),
                )
                for field, v in verdicts.items()
            }
        ),
        all_match=all_match,
        thresholds=ClaimThresholds(name=limits.name, text=limits.text),
        card=card,
        source=Source(
            card=CARD_SOURCE if card else None,
            registry=REGISTRY_SOURCE,
            agreement=services.policy.agreement.reference,
            agency=services.settings.agreement.agency,
            notice=NOTICE,
        ),
    )
