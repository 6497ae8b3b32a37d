"""Request and response bodies of the REST API (pydantic models at the boundary)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from typing_extensions import TypeAliasType

from ktp_gateway.api.accountability import Accountable
from ktp_gateway.api.known_keys import FieldComparison
from ktp_gateway.desks.identity import DESK_NAME
from ktp_gateway.domain import HolderAsk, HolderResult
from ktp_gateway.privacy.least_data import FieldChoice, FieldSet, ReleasedPerson
from ktp_gateway.returns.auto import ReturnDataReceipt
from ktp_gateway.returns.models import NomorSk
from ktp_gateway.verification.findings import Outcome, RegistryStatus

# Closed sets of words, named so that the contract lists each once as a component (a generated
# client gets one `ReaderFamily`, not an enum per property); in Python they stay plain strings.
HolderCheckMethod = TypeAliasType("HolderCheckMethod", Literal["fingerprint"])
VerificationMode = TypeAliasType("VerificationMode", Literal["sync", "async"])
ReaderFamily = TypeAliasType("ReaderFamily", Literal["pcsc", "integrated"])
SamState = TypeAliasType("SamState", Literal["absent", "present", "open", "error"])
HealthStatus = TypeAliasType("HealthStatus", Literal["ok", "degraded"])
NikSource = TypeAliasType("NikSource", Literal["request", "card"])
DeskState = TypeAliasType("DeskState", Literal["invited", "enrolled", "revoked"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


DESK_FIELD_DESCRIPTION = (
    "The desk whose reader to tap (GET /v1/desks); absent: a reader on the gateway itself."
)
DeskName = Annotated[str, Field(pattern=DESK_NAME.pattern, examples=["meja-1"])]
_DIGIT_RUN = re.compile(r"\d{12}")


def _reader_name(value: str) -> str:
    if _DIGIT_RUN.search(value):
        raise ValueError("a reader name never holds a run of 12 or more digits")
    return value


# As PC/SC and the integrated family name readers: printable ASCII, at most 128 characters.
ReaderName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[\x20-\x7e]+$",
        examples=["ACS ACR1281 1S Dual Reader PICC 00 00"],
    ),
    AfterValidator(_reader_name),
]


class HolderCheckRequest(_In):
    """A holder check: that the person holding the card is its holder (match-on-device)."""

    method: HolderCheckMethod = Field(
        description="fingerprint: the integrated reader matches a live finger against the "
        "card's templates inside the device (docs/integrated-readers.md)."
    )
    required: bool = Field(
        default=True,
        description="true: refused with holder_check_unavailable (409) before any registry "
        "query when the reader cannot match; false: the check is done where it can be, else "
        "reported as not_attempted.",
    )


class HolderCheckOut(BaseModel):
    """The holder check's result: never a template, an image or a score."""

    method: HolderCheckMethod
    required: bool
    finger: str | None = Field(
        description="The finger the device asked for, by its profile's name (e.g. right_index); "
        "null when not attempted.",
        examples=["right_index"],
    )
    result: HolderResult = Field(
        description="match | no_match (the outcome is then holder_mismatch) | not_attempted "
        "(the reader cannot match; only when optional) | timeout (no finger in time; when "
        "required, the outcome is holder_unchecked)."
    )


class VerificationRequest(Accountable, FieldChoice):
    desk: DeskName | None = Field(default=None, description=DESK_FIELD_DESCRIPTION)
    reader: ReaderName | None = Field(
        default=None,
        description="Card reader name; default: a free KTP-el reader, one holding a card first.",
    )
    wait_seconds: float | None = Field(
        default=None,
        ge=0,
        description="How long to wait for a card to be placed (bounded by the gateway).",
    )
    include_photo: bool = Field(
        default=False, description="Release the card's face photo (foto wajah)."
    )
    holder_check: HolderCheckMethod | HolderCheckRequest | None = Field(
        default=None,
        description='Also check that the card\'s holder is present: "fingerprint" (required), '
        'or {"method": "fingerprint", "required": false}. Only integrated readers can; with no '
        "reader named, an integrated one is chosen when the check is required.",
    )
    mode: VerificationMode = Field(
        default="sync",
        description="async: answer 202 with a job at once and wait for the card in the "
        "background (also `Prefer: respond-async`); poll GET /v1/verifications/{id}.",
    )
    nomor_sk_rapat_paripurna: NomorSk | None = Field(
        default=None,
        description="The case's plenary decision number: with nomor_register, the gateway "
        "queues the data balikan once the registry found the person (docs/return-data.md).",
        examples=["SK-17/RP/LPSK/05/2026"],
    )

    def holder_ask(self, officer_id: str) -> HolderAsk | None:
        """The holder check asked for, with the officer the device logs; None if none."""
        check = self.holder_check
        if check is None:
            return None
        required = True if isinstance(check, str) else check.required
        return HolderAsk(method="fingerprint", required=required, officer_id=officer_id)


class NikLookupRequest(Accountable, FieldChoice):
    nik: str = Field(
        description="The 16-digit NIK to look up in Dukcapil.", examples=["3171011505809901"]
    )
    include_photo: bool = Field(
        default=False,
        description="Also release the registry's face photo (foto wajah): one more Dukcapil "
        "query, only if the agreement and this client allow it (else field_not_granted).",
    )
    include_family: bool = Field(
        default=False,
        description="Also release the members of the person's Kartu Keluarga (the effective "
        "fields of each and the relation; never the KK number): one more Dukcapil query, only "
        "if the agreement and this client allow it (else field_not_granted).",
    )


class Photo(BaseModel):
    content_type: str = Field(default="image/jpeg", examples=["image/jpeg"])
    base64: str


class FamilyMemberOut(BaseModel):
    """One member of the person's Kartu Keluarga, as released (the KK number never is)."""

    hubungan_keluarga: str | None = Field(
        default=None, description="Relation within the family card.", examples=["KEPALA KELUARGA"]
    )
    data: ReleasedPerson


class Source(BaseModel):
    """Where the data came from and the agreement it is released under; nothing may cache it."""

    card: str | None = None
    registry: str | None = None
    agreement: str
    agency: str
    notice: str = "Population data released under the agreement: do not store, do not pass on."


class CardResult(BaseModel):
    desk: str | None = Field(default=None, description="the desk whose reader was tapped")
    reader: str
    authenticated: bool
    signature_verified: bool
    signature_checked_by: list[str] = Field(
        default=[],
        description='Who verified the issuer signature: "sam" (its FA steps) and "host" '
        "(ECDSA with the card profile's issuer key).",
    )
    data: ReleasedPerson
    photo: Photo | None = None


class RegistryResult(BaseModel):
    status: RegistryStatus
    data: ReleasedPerson | None = None


class Timings(BaseModel):
    wait_for_card_ms: float
    card_ms: float
    registry_ms: float
    total_ms: float


class ApduCounts(BaseModel):
    card: int
    sam: int


class VerificationResponse(BaseModel):
    id: str
    outcome: Outcome
    card: CardResult
    registry: RegistryResult
    comparison: FieldComparison
    timings: Timings
    apdus: ApduCounts
    fields: FieldSet
    source: Source
    return_data: ReturnDataReceipt | None = None  # when the request carried the case numbers
    holder_check: HolderCheckOut | None = None  # when the request asked for one


class NikLookupResponse(BaseModel):
    id: str
    data: ReleasedPerson
    fields: FieldSet
    photo: Photo | None = Field(
        default=None, description="The registry's face photo, when include_photo was asked."
    )
    family: list[FamilyMemberOut] | None = Field(
        default=None,
        description="The members of the person's Kartu Keluarga, when include_family was asked.",
    )
    source: Source


class ActivationOut(BaseModel):
    """The reader's SAM activation (docs/card-and-sam-trust.md): never a serial or a value."""

    state: str = Field(
        description="active, unchecked, not_activated, reader_mismatch, not_yet_valid, "
        "expired or locked"
    )
    agency: str | None = None
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    days_until_expiry: float | None = None
    checked_at: dt.datetime | None = Field(
        default=None, description="When the SAM was last checked against the record."
    )


class ReaderOut(BaseModel):
    name: str
    family: ReaderFamily = Field(
        default="pcsc",
        description="pcsc: a PC/SC reader paired with a SAM slot, the gateway runs the card "
        "session; integrated: a serial reader that runs the card session, its SAM and the "
        "fingerprint match inside (docs/integrated-readers.md).",
    )
    profile: str
    sam_reader: str | None = Field(
        description="The PC/SC reader holding the SAM; null for an integrated reader (inside)."
    )
    holder_checks: list[HolderCheckMethod] = Field(
        default=[], description="Holder checks the reader can run on the device."
    )
    card_present: bool
    atr: str | None
    sam_present: bool
    sam_state: SamState = Field(
        description="absent: no SAM in its slot; present: in, not yet opened; open: opened with "
        "this reader's activation record at the last check; error: its last tap failed on the SAM"
    )
    busy: bool
    last_error: str | None = None
    activation: ActivationOut | None = None


class ReadersResponse(BaseModel):
    readers: list[ReaderOut]


class Health(BaseModel):
    status: HealthStatus
    version: str
    monitor: str | None = None
    pcsc_context_resets: int | None = None
    readers: int | None = None
    reader_error: str | None = None
