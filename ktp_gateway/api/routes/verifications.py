"""Verifications: one tap on a reader, checked against the card's signature and Dukcapil."""

from __future__ import annotations

import base64
import uuid

from fastapi import APIRouter

from ktp_gateway.api.deps import Services, ServicesDep
from ktp_gateway.api.models import (
    ApduCounts,
    CardResult,
    Photo,
    RegistryResult,
    Source,
    Timings,
    VerificationRequest,
    VerificationResponse,
)
from ktp_gateway.errors import GatewayError
from ktp_gateway.verification import Verification, verify_tap

router = APIRouter(prefix="/v1/verifications", tags=["verifications"])

CARD_SOURCE = "KTP-el chip, mutually authenticated through the reader's SAM"
REGISTRY_SOURCE = "Dukcapil NIK query"


def _wait(services: Services, requested: float | None) -> float:
    settings = services.settings.reader
    wait = settings.default_wait_seconds if requested is None else requested
    return min(wait, settings.max_wait_seconds)


def _response(
    result: Verification, services: Services, include_photo: bool
) -> VerificationResponse:
    card = result.card
    agreement = services.settings.agreement
    return VerificationResponse(
        id=uuid.uuid4().hex,
        outcome=result.outcome,
        card=CardResult(
            reader=card.reader,
            authenticated=True,
            signature_verified=card.signature_verified,
            data=card.person,
            photo=Photo(base64=base64.b64encode(card.photo).decode()) if include_photo else None,
        ),
        registry=RegistryResult(status=result.registry_status, data=result.registry),
        comparison={field.value: match for field, match in result.comparison.items()},
        timings=Timings(
            wait_for_card_ms=round(card.waited_seconds * 1000, 2),
            card_ms=round(card.seconds * 1000, 2),
            registry_ms=round(result.registry_seconds * 1000, 2),
            total_ms=round(result.total_seconds * 1000, 2),
        ),
        apdus=ApduCounts(card=card.card_traffic.apdus, sam=card.sam_traffic.apdus),
        source=Source(
            card=CARD_SOURCE,
            registry=REGISTRY_SOURCE,
            agreement=agreement.reference,
            agency=agreement.agency,
        ),
    )


@router.post("", response_model=VerificationResponse)
async def create_verification(
    body: VerificationRequest, services: ServicesDep
) -> VerificationResponse:
    """Read the card (waiting for it if asked), authenticate it, ask Dukcapil, compare."""
    metrics = services.metrics
    try:
        result = await verify_tap(
            services.readers,
            services.registry,
            reader=body.reader,
            wait_seconds=_wait(services, body.wait_seconds),
        )
    except GatewayError as exc:
        metrics.verification(outcome="error", code=exc.code.value)
        raise
    metrics.card_read(result.card)
    metrics.verification(outcome=result.outcome.value, code="")
    return _response(result, services, body.include_photo)
