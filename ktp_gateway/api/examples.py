"""One synthetic example for every request and response body in the contract.

Built from the API's own models, so an example cannot drift from the shape it illustrates
(pydantic validates each one when this module loads, and the JSON is the models' own
serialisation); the contract attaches them by schema name (`contract.py`). Every person here
is the simulator's synthetic population (docs: Synthetic people), never a real one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel

from ktp_gateway.api.jobs import JobStatus
from ktp_gateway.api.jobs_out import JOBS_PATH, JobOut
from ktp_gateway.api.known_keys import AddressPartScores, FieldComparison
from ktp_gateway.api.models import (
    ActivationOut,
    ApduCounts,
    CardResult,
    FamilyMemberOut,
    Health,
    NikLookupRequest,
    NikLookupResponse,
    Photo,
    ReaderOut,
    ReadersResponse,
    RegistryResult,
    Source,
    Timings,
    VerificationRequest,
    VerificationResponse,
)
from ktp_gateway.api.problem_model import problem_out
from ktp_gateway.api.routes.agreement import agreement_out
from ktp_gateway.api.routes.caller import CallerOut
from ktp_gateway.api.routes.claims import (
    ClaimResults,
    ClaimsVerificationRequest,
    ClaimsVerificationResponse,
    ClaimThresholds,
    VerdictOut,
)
from ktp_gateway.api.routes.desks import DeskOut, DeskReaderOut, DesksResponse
from ktp_gateway.api.routes.return_data import ReturnDataSubmission
from ktp_gateway.callers.clients import AuthMethod
from ktp_gateway.claims.model import ClaimedAddress, Claims
from ktp_gateway.claims.verify import ClaimResult
from ktp_gateway.domain import Address, GrantedField
from ktp_gateway.errors import ErrorCode
from ktp_gateway.privacy.agreement import (
    DEMO_AGREEMENT_FILE,
    AgreementState,
    Standing,
    load_agreement,
)
from ktp_gateway.privacy.least_data import FieldSet, ReleasedPerson
from ktp_gateway.returns.auto import ReturnDataReceipt
from ktp_gateway.returns.models import ItemStatus, ReturnDataCounts, ReturnDataItem, ReturnDataList
from ktp_gateway.verification.compare import FieldMatch
from ktp_gateway.verification.findings import Outcome, RegistryStatus

G = GrantedField
NIK = "3171011505809901"
JOB_ID = "0c5e7d3a4b2f4e6a9d1c8b7a6f5e4d3c"
REQUEST_ID = "6f1c0d0a9b2e4c2f8e1d7a5b3c9e0f12"
AT = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)
WHO: dict[str, Any] = {"officer_id": "PETUGAS-001", "purpose": "perlindungan_saksi"}
AGREEMENT = load_agreement(DEMO_AGREEMENT_FILE)
REFERENCE = AGREEMENT.reference
AGENCY = "LPSK"
READER = "ACS ACR1281 1S Dual Reader PICC 00 00"
ASKED = [G.NIK, G.NAMA_LENGKAP, G.TANGGAL_LAHIR, G.ALAMAT]
FIELDS = FieldSet(
    required=[G.NIK, G.NAMA_LENGKAP], optional=[G.TANGGAL_LAHIR, G.ALAMAT], effective=ASKED
)
ADDRESS = Address(
    alamat="JL. CONTOH RAYA NO. 1",
    rt="001",
    rw="002",
    kelurahan="CONTOH BARU",
    kecamatan="CONTOH",
    kabupaten="KOTA JAKARTA CONTOH",
    provinsi="DKI JAKARTA",
)
BUDI = ReleasedPerson(
    nik=NIK, nama_lengkap="BUDI CONTOH", tanggal_lahir=dt.date(1980, 5, 15), alamat=ADDRESS
)
SITI = ReleasedPerson(
    nik="3171015208859902",
    nama_lengkap="SITI CONTOH RAHAYU",
    tanggal_lahir=dt.date(1985, 8, 12),
    alamat=ADDRESS,
)
PHOTO = Photo(base64="/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQ==")  # the start of a JPEG
NOTICE = Source.model_fields["notice"].default
REGISTRY_SOURCE = "Dukcapil NIK query"
CARD_SOURCE = "KTP-el chip, authenticated through the SAM"

VERIFICATION = VerificationResponse(
    id=JOB_ID,
    outcome=Outcome.VERIFIED,
    card=CardResult(
        reader=READER,
        authenticated=True,
        signature_verified=True,
        signature_checked_by=["sam", "host"],
        data=BUDI,
    ),
    registry=RegistryResult(status=RegistryStatus.FOUND, data=BUDI),
    comparison=FieldComparison(
        nik=FieldMatch.MATCH,
        nama_lengkap=FieldMatch.MATCH,
        tanggal_lahir=FieldMatch.MATCH,
        alamat=FieldMatch.MATCH,
    ),
    timings=Timings(wait_for_card_ms=713.0, card_ms=35.2, registry_ms=14.1, total_ms=765.4),
    apdus=ApduCounts(card=35, sam=34),
    fields=FIELDS,
    source=Source(card=CARD_SOURCE, registry=REGISTRY_SOURCE, agreement=REFERENCE, agency=AGENCY),
    return_data=ReturnDataReceipt(queued=True, id="rd_5b7e2c1a9f3d4e60", code=None),
)


def _json(model: BaseModel, *, sent: bool = False) -> dict[str, Any]:
    """The body as it travels: an answer with every key, a request with what a client sends."""
    return model.model_dump(mode="json", exclude_unset=sent)


REQUESTS: dict[str, dict[str, Any]] = {
    "VerificationRequest": _json(
        VerificationRequest(
            **WHO,
            required_fields=[G.NIK, G.NAMA_LENGKAP],
            optional_fields=[G.TANGGAL_LAHIR, G.ALAMAT],
            wait_seconds=30,
            nomor_register="REG-LPSK/2026/0001",
            nomor_sk_rapat_paripurna="SK-17/RP/LPSK/05/2026",
        ),
        sent=True,
    ),
    "NikLookupRequest": _json(
        NikLookupRequest(
            **WHO,
            nik=NIK,
            required_fields=[G.NIK, G.NAMA_LENGKAP],
            include_photo=True,
            include_family=True,
        ),
        sent=True,
    ),
    "ClaimsVerificationRequest": _json(
        ClaimsVerificationRequest(
            **WHO,
            nik=NIK,
            claims=Claims(
                nama_lengkap="Dr. H. Budi Contoh, S.H.",
                tanggal_lahir=dt.date(1980, 5, 15),
                alamat=ClaimedAddress(rt="1", rw="2"),
            ),
        ),
        sent=True,
    ),
    "ReturnDataSubmission": _json(
        ReturnDataSubmission(
            **WHO,
            nik=NIK,
            nomor_register="REG-LPSK/2026/0001",
            nomor_sk_rapat_paripurna="SK-17/RP/LPSK/05/2026",
        ),
        sent=True,
    ),
}

DESK_READER = DeskReaderOut(
    name="Virtual PCD 00 00",
    family="pcsc",
    holder_checks=[],
    profile="vpcd-virtual",
    card_present=False,
    sam_present=True,
    sam_state="open",
    busy=False,
    last_error=None,
    activation_state="active",
    activation_days_left=211.5,
)
DESK = DeskOut(
    name="meja-1",
    state="enrolled",
    connected=True,
    version="0.9.0",
    last_seen_at=AT,
    enrolled_at=AT - dt.timedelta(days=30),
    certificate_not_after=AT + dt.timedelta(days=335),
    readers=[DESK_READER],
)
ITEM = ReturnDataItem(
    id="rd_5b7e2c1a9f3d4e60",
    status=ItemStatus.PENDING,
    nik_masked="************9901",
    nomor_register="REG-LPSK/2026/0001",
    attempts=0,
    next_attempt_at=AT,
    last_error=None,
    created_at=AT,
)

RESPONSES: dict[str, dict[str, Any]] = {
    "Health": _json(
        Health(
            status="ok",
            version="0.9.0",
            monitor="running",
            pcsc_context_resets=0,
            readers=1,
            reader_error=None,
        )
    ),
    "CallerOut": _json(
        CallerOut(
            client="lpsk-case-app",
            auth=AuthMethod.API_KEY,
            key_id="3f9a1c2b",
            fields=list(G),
            photo=True,
            family=True,
        )
    ),
    "AgreementOut": _json(
        agreement_out(AGREEMENT, Standing(AgreementState.IN_FORCE, days_remaining=389))
    ),
    "ReadersResponse": _json(
        ReadersResponse(
            readers=[
                ReaderOut(
                    name=READER,
                    family="pcsc",
                    profile="vpcd-virtual",
                    sam_reader="ACS ACR1281 1S Dual Reader SAM 00 01",
                    holder_checks=[],
                    card_present=True,
                    atr="3bf81800ff8131fe454a434f5076323431b7",
                    sam_present=True,
                    sam_state="open",
                    busy=False,
                    last_error=None,
                    activation=ActivationOut(
                        state="active",
                        agency=AGENCY,
                        valid_from=AT,
                        valid_until=AT + dt.timedelta(days=211),
                        days_until_expiry=211.0,
                        checked_at=AT,
                    ),
                )
            ]
        )
    ),
    "VerificationResponse": _json(VERIFICATION),
    "JobOut": _json(
        JobOut(
            id=JOB_ID,
            status=JobStatus.DONE,
            location=f"{JOBS_PATH}/{JOB_ID}",
            expires_in_seconds=287.5,
            result=VERIFICATION,
            problem=None,
        )
    ),
    "ClaimsVerificationResponse": _json(
        ClaimsVerificationResponse(
            id=JOB_ID,
            nik_from="request",
            registry=RegistryStatus.FOUND,
            results=ClaimResults(
                nama_lengkap=VerdictOut(result=ClaimResult.MATCH, score=100, parts=None),
                tanggal_lahir=VerdictOut(result=ClaimResult.MATCH, score=100, parts=None),
                alamat=VerdictOut(
                    result=ClaimResult.MATCH, score=100, parts=AddressPartScores(rt=100, rw=100)
                ),
            ),
            all_match=True,
            thresholds=ClaimThresholds(name=90, text=85),
            card=None,
            source=Source(
                registry=REGISTRY_SOURCE,
                agreement=REFERENCE,
                agency=AGENCY,
                notice="No population data released: per-field agreement with the registry only.",
            ),
        )
    ),
    "NikLookupResponse": _json(
        NikLookupResponse(
            id=JOB_ID,
            data=BUDI,
            fields=FIELDS,
            photo=PHOTO,
            family=[
                FamilyMemberOut(hubungan_keluarga="KEPALA KELUARGA", data=BUDI),
                FamilyMemberOut(hubungan_keluarga="ISTRI", data=SITI),
            ],
            source=Source(
                registry=f"{REGISTRY_SOURCE}; Dukcapil face photo query; Dukcapil family "
                "card (KK) query",
                agreement=REFERENCE,
                agency=AGENCY,
            ),
        )
    ),
    "ReturnDataItem": _json(ITEM),
    "ReturnDataList": _json(
        ReturnDataList(items=[ITEM], counts=ReturnDataCounts(pending=1, delivering=0, dead=0))
    ),
    "DesksResponse": _json(DesksResponse(desks=[DESK])),
    "DeskOut": _json(DESK),
}

# The 202 of an async verification: the job just started.
ACCEPTED_JOB = _json(
    JobOut(
        id=JOB_ID,
        status=JobStatus.PENDING,
        location=f"{JOBS_PATH}/{JOB_ID}",
        expires_in_seconds=None,
        result=None,
        problem=None,
    )
)


def problem(code: ErrorCode, detail: str) -> dict[str, Any]:
    """A problem as the gateway sends it (docs/errors.md), without `errors` unless invalid."""
    return problem_out(code, detail, REQUEST_ID).model_dump(mode="json", exclude_none=True) | {
        "request_id": REQUEST_ID
    }


# One problem per status the contract lists; a 4XX/5XX stands for its family.
PROBLEMS: dict[str, dict[str, Any]] = {
    "401": problem(ErrorCode.UNAUTHORIZED, "no valid API key or client certificate"),
    "422": problem(ErrorCode.INVALID_NIK, "a NIK is 16 digits with a valid region and date"),
    "429": problem(ErrorCode.RATE_LIMITED, "officer PETUGAS-001 is over its rate; retry in 10 s"),
    "503": problem(ErrorCode.DUKCAPIL_UNAVAILABLE, "Dukcapil did not answer (connection refused)"),
    "4XX": problem(ErrorCode.FIELD_NOT_GRANTED, "this client may not receive the face photo"),
    "5XX": problem(ErrorCode.DUKCAPIL_BAD_RESPONSE, "Dukcapil answered an HTML page, not JSON"),
}
# Where an operation's likeliest refusal is another 4xx than field_not_granted.
REFUSALS: dict[str, dict[str, Any]] = {
    "createVerification": problem(ErrorCode.NO_CARD, "no card was placed on the reader in time"),
    "getVerification": problem(ErrorCode.JOB_NOT_FOUND, "no such verification job"),
    "cancelVerification": problem(ErrorCode.JOB_NOT_FOUND, "no such verification job"),
    "queueReturnData": problem(ErrorCode.RETURN_DATA_DISABLED, "the outbox is not enabled"),
    "getReturnData": problem(ErrorCode.RETURN_DATA_NOT_FOUND, "no such data balikan item"),
    "retryReturnData": problem(ErrorCode.RETURN_DATA_NOT_FOUND, "no such data balikan item"),
    "listDesks": problem(ErrorCode.DESKS_DISABLED, "this gateway serves no desks"),
    "getDesk": problem(ErrorCode.DESK_NOT_FOUND, "no desk of that name is enrolled"),
    "listReaders": problem(ErrorCode.READER_NOT_FOUND, "this gateway has no readers"),
}
