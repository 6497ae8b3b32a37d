"""Verifications: one tap on a reader, checked against the card's signature and Dukcapil."""

from __future__ import annotations

import base64
import threading
import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from ktp_gateway.api.auth import CallerDep, limit_officer
from ktp_gateway.api.deps import Services, ServicesDep, TapsDep, jobs_of
from ktp_gateway.api.disconnect import cancel_on_disconnect
from ktp_gateway.api.jobs_out import JobOut, job_out
from ktp_gateway.api.known_keys import FieldComparison
from ktp_gateway.api.models import (
    ApduCounts,
    CardResult,
    HolderCheckOut,
    Photo,
    RegistryResult,
    Source,
    Timings,
    VerificationRequest,
    VerificationResponse,
)
from ktp_gateway.domain import HolderAsk, HolderCheck, HolderResult
from ktp_gateway.privacy.least_data import FieldSet, effective_fields, release, require_parts
from ktp_gateway.privacy.policy import Access, Accountability, Operation, current_request_id
from ktp_gateway.returns.auto import ReturnDataReceipt, queue_after_verification
from ktp_gateway.verification.findings import RegistryStatus
from ktp_gateway.verification.tap import Verification, outcome_of
from ktp_gateway.verification.taps import Taps

router = APIRouter(prefix="/v1/verifications", tags=["verifications"])

CARD_SOURCE = "KTP-el chip, mutually authenticated through the reader's SAM"
REGISTRY_SOURCE = "Dukcapil NIK query"


def _response(
    result: Verification,
    services: Services,
    include_photo: bool,
    fields: FieldSet,
    access: Access,
    desk: str | None,
    holder: HolderAsk | None,
) -> VerificationResponse:
    card = result.card
    required = holder is not None and holder.required
    agreement = services.settings.agreement
    effective = set(fields.effective)
    access.photo_released = include_photo
    registry = access.release(result.registry, source="registry") if result.registry else None
    comparison = {f.value: m for f, m in result.comparison.items() if f in effective}
    return VerificationResponse(
        id=uuid.uuid4().hex,
        # Over the released fields only: an unasked field cannot turn it to mismatch.
        outcome=outcome_of(
            result.registry_status, comparison.values(), card.holder, holder_required=required
        ),
        card=CardResult(
            desk=desk,
            reader=card.reader,
            authenticated=True,
            signature_verified=card.signature_verified,
            signature_checked_by=list(card.signature_checks),
            data=release(access.release(card.person, source="card"), fields),
            photo=Photo(base64=base64.b64encode(card.photo).decode()) if include_photo else None,
        ),
        registry=RegistryResult(
            status=result.registry_status,
            data=release(registry, fields) if registry else None,
        ),
        comparison=FieldComparison.model_validate(comparison),
        timings=Timings(
            wait_for_card_ms=round(card.waited_seconds * 1000, 2),
            card_ms=round(card.seconds * 1000, 2),
            registry_ms=round(result.registry_seconds * 1000, 2),
            total_ms=round(result.total_seconds * 1000, 2),
        ),
        apdus=ApduCounts(card=card.card_traffic.apdus, sam=card.sam_traffic.apdus),
        fields=fields,
        source=Source(
            card=CARD_SOURCE,
            registry=REGISTRY_SOURCE,
            agreement=services.policy.agreement.reference,
            agency=agreement.agency,
        ),
        holder_check=_holder_out(card.holder, required) if holder is not None else None,
    )


def _holder_out(check: HolderCheck | None, required: bool) -> HolderCheckOut:
    if check is None:
        return HolderCheckOut(
            method="fingerprint", required=required, finger=None, result=HolderResult.NOT_ATTEMPTED
        )
    return HolderCheckOut(
        method=check.method, required=required, finger=check.finger, result=check.result
    )


async def _verify(
    services: Services,
    taps: Taps,
    body: VerificationRequest,
    fields: FieldSet,
    who: Accountability,
    cancel: threading.Event | None = None,
) -> VerificationResponse:
    async with services.policy.access(
        Operation.VERIFICATION, who, request_id=current_request_id(), photo=body.include_photo
    ) as access:
        access.effective = frozenset(fields.effective)
        holder = body.holder_ask(who.officer_id)
        result = await taps.verify(
            access,
            reader=body.reader,
            wait_seconds=body.wait_seconds,
            cancel=cancel,
            desk=body.desk,
            photo=body.include_photo,
            holder=holder,
        )
        response = _response(
            result, services, body.include_photo, fields, access, body.desk, holder
        )
        access.outcome = response.outcome.value
        response.return_data = await _return_data(services, body, result, who)
        access.return_data_queued = response.return_data.queued if response.return_data else None
        return response


async def _return_data(
    services: Services, body: VerificationRequest, result: Verification, who: Accountability
) -> ReturnDataReceipt | None:
    """Queue the data balikan when the request carries the case numbers (docs/return-data.md)."""
    return await queue_after_verification(
        services.outbox,
        nik=result.card.person.nik,
        found=result.registry_status is RegistryStatus.FOUND,
        nomor_register=getattr(body, "nomor_register", None),
        nomor_sk=body.nomor_sk_rapat_paripurna,
        owner=who.client,
        officer=who.officer_id,
    )


def _wants_async(body: VerificationRequest, prefer: str | None) -> bool:
    preferences = {p.strip().lower() for p in (prefer or "").split(",")}
    return body.mode == "async" or "respond-async" in preferences


@router.post(
    "",
    response_model=VerificationResponse,
    responses={202: {"model": JobOut, "description": "Accepted as a job: poll its Location"}},
)
async def create_verification(
    body: VerificationRequest,
    request: Request,
    services: ServicesDep,
    taps: TapsDep,
    caller: CallerDep,
    prefer: Annotated[str | None, Header(description="`respond-async` for a job")] = None,
) -> VerificationResponse | JSONResponse:
    """Read the card (waiting for it if asked), authenticate it, ask Dukcapil, compare.

    With `mode: async` (or `Prefer: respond-async`) the answer is 202 with a job at once; the
    wait for the card goes on in the background.
    """
    fields = effective_fields(body, caller.fields & services.policy.gate.granted)
    require_parts(
        photo=body.include_photo, family=False, photo_allowed=caller.photo, family_allowed=False
    )
    who = body.accountability(caller.name)
    await limit_officer(services, who.officer_id)
    if not _wants_async(body, prefer):
        async with cancel_on_disconnect(request) as cancel:  # a hang-up frees the reader
            return await _verify(services, taps, body, fields, who, cancel)
    jobs = jobs_of(services)  # jobs_unavailable while the gateway starts or stops
    await services.policy.precheck(
        Operation.VERIFICATION, who, request_id=current_request_id(), photo=body.include_photo
    )  # refused now, not later in the job
    job = jobs.start(caller.name, lambda cancel: _verify(services, taps, body, fields, who, cancel))
    location = f"{router.prefix}/{job.id}"
    return JSONResponse(
        job_out(job, jobs).model_dump(mode="json"),
        status_code=202,
        headers={"Location": location, "Preference-Applied": "respond-async"},
    )
