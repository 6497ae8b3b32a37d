"""The agreement in force: parties, numbers, validity, standing, purposes and granted fields.

Case applications read the purpose codes from here to offer the officer a choice; operators see
the days remaining and whether access is suspended. Nothing here is personal data.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from pydantic import BaseModel

from ktp_gateway.api.deps import PolicyDep
from ktp_gateway.domain import GrantedField
from ktp_gateway.privacy.agreement import Agreement, AgreementState, Party, Purpose, Standing

router = APIRouter(prefix="/v1/agreement", tags=["agreement"])


class AgreementOut(BaseModel):
    title: str
    reference: str
    provider: Party
    user: Party
    valid_from: dt.date
    valid_until: dt.date
    state: AgreementState
    days_remaining: int
    suspension_reason: str | None
    granted_fields: list[GrantedField]
    photo_granted: bool
    family_granted: bool
    purposes: list[Purpose]
    return_data_fields: list[str]
    synthetic: bool


@router.get("", response_model=AgreementOut)
async def get_agreement(policy: PolicyDep) -> AgreementOut:
    """The agreement the gateway serves under, and its standing today."""
    return agreement_out(policy.guard.agreement, policy.guard.standing())


def agreement_out(agreement: Agreement, standing: Standing) -> AgreementOut:
    """The answer for `agreement` as it stands (also the contract's example)."""
    return AgreementOut(
        title=agreement.title,
        reference=agreement.reference,
        provider=agreement.provider,
        user=agreement.user,
        valid_from=agreement.valid_from,
        valid_until=agreement.valid_until,
        state=standing.state,
        days_remaining=standing.days_remaining,
        suspension_reason=standing.reason,
        granted_fields=list(agreement.granted_fields),
        photo_granted=agreement.photo_granted,
        family_granted=agreement.family_granted,
        purposes=list(agreement.purposes),
        return_data_fields=list(agreement.return_data_fields),
        synthetic=agreement.synthetic,
    )
