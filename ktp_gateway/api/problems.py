"""Every error code's HTTP status, title, likely cause and fix: one table, documented from code.

Errors become RFC 9457 `application/problem+json` here and nowhere else; routes raise gateway
errors and never HTTP exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ktp_gateway.errors import ErrorCode

PROBLEM_TYPE_BASE = "https://ktp-gateway.invalid/problems/"  # RFC 2606 name: no lookup happens


@dataclass(frozen=True, slots=True)
class Problem:
    status: int
    title: str
    hint: str  # likely cause and fix, one line


C = ErrorCode
PROBLEMS: dict[ErrorCode, Problem] = {
    C.INVALID_REQUEST: Problem(
        422, "Invalid request", "A field is missing or malformed: see `errors`."
    ),
    C.INVALID_NIK: Problem(
        422,
        "Invalid NIK",
        "A NIK is 16 digits with a known region and a valid birth date; check the typing.",
    ),
    C.READER_NOT_FOUND: Problem(
        404,
        "Reader not found",
        "No KTP-el reader with its SAM slot is attached under that name: check the USB cable and GET /v1/readers.",
    ),
    C.READER_UNAVAILABLE: Problem(
        503,
        "Reader service unavailable",
        "pcscd is not running or the reader stopped answering: start pcscd, replug the reader.",
    ),
    C.READER_BUSY: Problem(
        409,
        "Reader busy",
        "Another request is using this reader: wait for it to finish, or use another reader.",
    ),
    C.READER_FRAME_INVALID: Problem(
        502,
        "Reader answered a malformed frame",
        "The integrated reader's answer broke its protocol (garbage, oversized, undecodable, or a frame cut off): re-plug the reader; if it repeats, check that its profile in firmware_specs/readers/ matches the model and firmware.",
    ),
    C.HOLDER_CHECK_UNAVAILABLE: Problem(
        409,
        "Holder check unavailable",
        "The request requires a fingerprint holder check, but the reader cannot match a finger on the device (a PC/SC reader, a desk's reader, or a card whose finger codes the device cannot read): tap on an integrated reader (GET /v1/readers, `holder_checks`), or ask for the check as optional.",
    ),
    C.READER_NOT_RESPONDING: Problem(
        504,
        "Reader not responding",
        "The integrated reader did not answer within its time budget: check its USB cable and power; the port is reopened when it comes back.",
    ),
    C.NO_CARD: Problem(
        409,
        "No card on the reader",
        "No card was placed within the wait time: place the KTP-el flat on the reader, or wait longer.",
    ),
    C.CARD_REMOVED: Problem(
        409,
        "Card removed",
        "The card left the reader during the read: hold it still until the read completes.",
    ),
    C.CARD_TIMEOUT: Problem(
        504, "Card did not answer", "The card stopped answering: place it again, flat and centred."
    ),
    C.CARD_NOT_KTP_EL: Problem(
        422,
        "Not a KTP-el",
        "The card is not a KTP-el (or an unknown generation): check the card; add its ATR to firmware_specs if it is genuine.",
    ),
    C.CARD_ERROR: Problem(
        502,
        "Card error",
        "The card answered out of profile (an unexpected status, or more than was asked for); the SAM was not involved: place it again; if it repeats, the card is damaged or not genuine: refer the holder to their Dinas Dukcapil.",
    ),
    C.CARD_AUTH_FAILED: Problem(
        422,
        "Card authentication failed",
        "The card and the SAM did not authenticate each other: the card may be a clone, or the SAM is not the agency's.",
    ),
    C.CARD_DATA_INVALID: Problem(
        422,
        "Card data invalid",
        "The card's data does not parse as its profile describes, or is larger than it allows (a malformed NIK, an oversized file): a damaged card, a forgery or an unknown generation; check the person's identity another way.",
    ),
    C.CARD_NOT_GENUINE: Problem(
        422,
        "Card not genuine",
        "The card's data does not match the issuer's signature: refuse the card and report it.",
    ),
    C.SAM_UNAVAILABLE: Problem(
        503,
        "SAM unavailable",
        "No SAM answers in the reader's SAM slot: seat the SAM, or check the reader profile.",
    ),
    C.SAM_NOT_ACTIVATED: Problem(
        503,
        "SAM not activated",
        "No valid activation record for this reader and agency, or the SAM refused its values: install the record Dukcapil delivered for this reader (GET /v1/readers shows the activation state).",
    ),
    C.SAM_LOCKED: Problem(
        503, "SAM locked", "Too many failed opens locked the SAM: contact Dukcapil."
    ),
    C.SAM_ERROR: Problem(
        502,
        "SAM error",
        "The SAM answered an unexpected status: reseat it; if it repeats, contact the reader vendor.",
    ),
    C.SAM_READER_MISMATCH: Problem(
        503,
        "SAM not activated for this reader",
        "The SAM in this reader is not the one Dukcapil activated for it (moved between readers, or swapped): put it back in its own reader, or ask Dukcapil for an activation record for this pair.",
    ),
    C.SAM_ACTIVATION_EXPIRED: Problem(
        503,
        "SAM activation expired",
        "The reader's activation record is past its valid-until date: ask Dukcapil to renew the activation and install the new record.",
    ),
    C.DUKCAPIL_NOT_FOUND: Problem(
        404,
        "NIK not in the registry",
        "Dukcapil has no record for this NIK: check the number with the person.",
    ),
    C.DUKCAPIL_NIK_FORMAT_REJECTED: Problem(
        422,
        "NIK not in Dukcapil's format",
        "Dukcapil refuses this NIK's format although it passed the gateway's structural check: check the number with the person's KTP-el or KK; a card that carries it needs the Dinas Dukcapil.",
    ),
    C.DUKCAPIL_DUPLICATE_RECORDS: Problem(
        409,
        "Several registry records for this NIK",
        "Dukcapil holds more than one record for this NIK (data ganda), so none is released: the person should have the records merged at their Dinas Dukcapil.",
    ),
    C.DUKCAPIL_RECORD_BLOCKED: Problem(
        409,
        "Registry record not active",
        "Dukcapil holds the record but does not release it: the person should contact their Dinas Dukcapil.",
    ),
    C.DUKCAPIL_HOLDER_DECEASED: Problem(
        410,
        "Holder recorded as deceased",
        "Dukcapil records this NIK's holder as deceased: handle per procedure.",
    ),
    C.DUKCAPIL_AUTH_FAILED: Problem(
        502,
        "Dukcapil refused our credentials",
        "User ID or password for Dukcapil is wrong or inactive: update the credentials.",
    ),
    C.DUKCAPIL_IP_NOT_ALLOWED: Problem(
        502,
        "Dukcapil refused our address",
        "The gateway's IP is not on Dukcapil's allow-list: ask Dukcapil to register it.",
    ),
    C.DUKCAPIL_QUOTA_EXHAUSTED: Problem(
        503,
        "Dukcapil quota used up",
        "Today's access quota is used up: wait for the daily reset or ask Dukcapil for more.",
    ),
    C.DUKCAPIL_REJECTED: Problem(
        502,
        "Dukcapil refused the request",
        "Dukcapil refused the request for an administrative reason: see detail, contact Dukcapil.",
    ),
    C.DUKCAPIL_UNKNOWN_RESPONSE: Problem(
        502,
        "Unknown Dukcapil response",
        "Dukcapil answered a message this gateway does not know: report it so it can be added.",
    ),
    C.DUKCAPIL_BAD_RESPONSE: Problem(
        502,
        "Unusable Dukcapil response",
        "Something between us and Dukcapil answered instead of it (HTML page, empty or broken body): check the closed network.",
    ),
    C.DUKCAPIL_TIMEOUT: Problem(
        504,
        "Dukcapil timed out",
        "Dukcapil did not answer in time: retry; if it repeats, check the closed network.",
    ),
    C.DUKCAPIL_UNAVAILABLE: Problem(
        503,
        "Dukcapil unavailable",
        "Dukcapil cannot be reached: check the closed-network link and the configured address.",
    ),
    C.CONFIGURATION_ERROR: Problem(
        500, "Configuration error", "The gateway's configuration is unusable: see its start-up log."
    ),
    C.INTERNAL_ERROR: Problem(
        500, "Internal error", "An unexpected error: the request id finds it in the log; report it."
    ),
    C.UNAUTHORIZED: Problem(
        401,
        "Authentication required",
        "Send this client's API key (`Authorization: Bearer ...` or `X-API-Key`) or its TLS client certificate; ask the gateway's operator for a credential.",
    ),
    C.FIELD_NOT_GRANTED: Problem(
        403,
        "Field not granted to this client",
        "A required field, the face photo or the family card's members is outside what the agreement or this client allows: move the field to optional_fields, leave out include_photo / include_family, or ask the operator to grant it.",
    ),
    C.NOT_FOUND: Problem(404, "Not found", "No such path: check the URL against openapi.json."),
    C.METHOD_NOT_ALLOWED: Problem(
        405, "Method not allowed", "This path does not take that method: see openapi.json."
    ),
    C.JOB_NOT_FOUND: Problem(
        404,
        "Verification job not found",
        "The job id is unknown, belongs to another client, or its result expired (results are kept for seconds only): start a new verification.",
    ),
    C.JOBS_UNAVAILABLE: Problem(
        503,
        "Async verifications unavailable",
        "The gateway is starting or stopping and runs no background verifications now: retry in a moment, or call synchronously.",
    ),
    C.VERIFICATION_CANCELLED: Problem(
        409,
        "Verification cancelled",
        "The verification was cancelled before it finished: start a new one if the person is still there.",
    ),
    C.REQUEST_TOO_LARGE: Problem(
        413,
        "Request too large",
        "The request body exceeds the gateway's limit: send only the documented fields.",
    ),
    C.RATE_LIMITED: Problem(
        429,
        "Too many requests",
        "This client or officer made too many requests: wait for the number of seconds in Retry-After, then retry.",
    ),
    C.ACCOUNTABILITY_REQUIRED: Problem(
        422,
        "Officer and purpose required",
        "Every card or registry request names the officer (`officer_id`) and a purpose code from the agreement (`purpose`); see `errors`.",
    ),
    C.PURPOSE_NOT_IN_AGREEMENT: Problem(
        403,
        "Purpose not in the agreement",
        "The purpose is not one the agreement lists: use a code from the agreement file's `purposes`.",
    ),
    C.AGREEMENT_NOT_IN_FORCE: Problem(
        403,
        "Agreement not in force",
        "The agreement has ended or not yet begun (see detail): renew the PKS and install the new agreement file.",
    ),
    C.AGREEMENT_SUSPENDED: Problem(
        403,
        "Access suspended",
        "Access under the agreement is suspended (see detail): only the operator lifts it (`ktp-gateway agreement resume`).",
    ),
    C.AUDIT_UNAVAILABLE: Problem(
        503,
        "Audit trail unavailable",
        "The access could not be recorded, so it was refused: check the audit directory's disk space and permissions.",
    ),
    C.DUKCAPIL_CIRCUIT_OPEN: Problem(
        503,
        "Dukcapil failing: not asked",
        "Dukcapil failed several times in a row, so the gateway stopped asking for a while (Retry-After): check the closed-network link; it probes again by itself.",
    ),
    C.RETURN_DATA_DISABLED: Problem(
        503,
        "Return data not configured",
        "Data balikan needs the store URL, token and outbox key: set KTP_GATEWAY_RETURN_DATA__* and KTP_GATEWAY_DUKCAPIL__RETURNS__* (docs/return-data.md).",
    ),
    C.RETURN_DATA_NOT_FOUND: Problem(
        404,
        "Return-data item not found",
        "No outbox item has this id: it was delivered (and deleted) or never queued; see GET /v1/return-data.",
    ),
    C.RETURN_DATA_NOT_RETRYABLE: Problem(
        409,
        "Return-data item not dead",
        "Only dead-lettered items can be retried; pending ones are retried by the outbox itself.",
    ),
    C.OUTBOX_UNAVAILABLE: Problem(
        503,
        "Return-data outbox unavailable",
        "The outbox database cannot be written, so nothing was queued: check the SQLite file's disk and permissions or the PostgreSQL server.",
    ),
    C.SHARED_STATE_UNAVAILABLE: Problem(
        503,
        "Shared state unavailable",
        "The PostgreSQL database the gateway's workers share (rate limits) cannot be reached, so the request was refused: check the server and shared.postgres_dsn.",
    ),
    C.DESK_NOT_FOUND: Problem(
        404,
        "Desk not found",
        "No desk of that name is enrolled at this access point: check the name in GET /v1/desks, or enrol it (`ktp-gateway desks enrol NAME`).",
    ),
    C.DESK_NOT_CONNECTED: Problem(
        503,
        "Desk not connected",
        "The desk is enrolled but its agent is not connected now: start `ktp-gateway desk` on the officer's PC and check its network path to the access point.",
    ),
    C.DESK_UNAVAILABLE: Problem(
        503,
        "Desk lost during the request",
        "The desk's connection went away while it served this request (agent stopped, network cut): try again once GET /v1/desks shows it connected.",
    ),
    C.DESK_ENROLMENT_REFUSED: Problem(
        403,
        "Desk enrolment refused",
        "The one-time code is unknown, already used or expired: ask the administrator for a new one (`ktp-gateway desks enrol NAME`).",
    ),
    C.DESK_FRAME_INVALID: Problem(
        502,
        "Desk sent a malformed frame",
        "The desk agent answered something that is not a valid frame (wrong type, extra keys, oversized): it was refused and counted; update the desk agent to the access point's version.",
    ),
    C.DESK_READING_REPLAYED: Problem(
        502,
        "Desk reading replayed",
        "The desk answered with a reading for another tap or nonce: refused before Dukcapil was asked; a broken or tampered desk agent: check the desk, revoke it if in doubt.",
    ),
    C.DESK_READING_LATE: Problem(
        502,
        "Desk reading outside the clock skew",
        "The reading's time is too far from the access point's clock: set up time synchronisation (NTP) on the desk PC.",
    ),
    C.DESK_READING_FOREIGN: Problem(
        502,
        "Desk reading from another desk",
        "The reading names or is signed for another desk than the one connected: refused; revoke the desk and investigate.",
    ),
    C.DESK_READING_TAMPERED: Problem(
        502,
        "Desk reading tampered",
        "The reading's signature or data digest does not verify with the desk's key: refused; revoke the desk and investigate.",
    ),
    C.DESK_SAM_NOT_BOUND: Problem(
        409,
        "SAM bound to another desk",
        "The SAM in this desk's reader belongs to another desk at this access point: to move a SAM between desks, re-enrol the desk that now holds it (`ktp-gateway desks enrol NAME`).",
    ),
    C.DESKS_DISABLED: Problem(
        503,
        "Desks not enabled",
        "This access point has no desk channel: set KTP_GATEWAY_DESKS__ENABLED=true with TLS (docs/desks.md).",
    ),
}


class Fault(StrEnum):
    """Whose fault an error is: who must act (docs/errors.md), never the party that noticed."""

    CALLER = "caller (the request)"
    OFFICER = "officer (the card's handling)"
    CARD = "card"
    SAM = "SAM"
    READER = "reader or pcscd"
    RECORD = "registry record (a finding)"
    DUKCAPIL = "Dukcapil or the closed network"
    OPERATOR = "operator (settings, credentials, storage)"
    AGREEMENT = "agreement"
    GATEWAY = "gateway (a bug)"


_BY_PREFIX = (
    ("card_", Fault.CARD),
    ("sam_", Fault.SAM),
    ("reader_", Fault.READER),
    ("agreement_", Fault.AGREEMENT),
    ("dukcapil_", Fault.DUKCAPIL),
)
FAULTS: dict[ErrorCode, Fault] = {
    C.READER_BUSY: Fault.CALLER,  # another request holds the reader: wait or name another
    C.NO_CARD: Fault.OFFICER,
    C.CARD_REMOVED: Fault.OFFICER,
    C.DUKCAPIL_NOT_FOUND: Fault.RECORD,
    C.DUKCAPIL_NIK_FORMAT_REJECTED: Fault.RECORD,
    C.DUKCAPIL_DUPLICATE_RECORDS: Fault.RECORD,
    C.DUKCAPIL_RECORD_BLOCKED: Fault.RECORD,
    C.DUKCAPIL_HOLDER_DECEASED: Fault.RECORD,
    C.DUKCAPIL_AUTH_FAILED: Fault.OPERATOR,
    C.DUKCAPIL_IP_NOT_ALLOWED: Fault.OPERATOR,
    C.CONFIGURATION_ERROR: Fault.OPERATOR,
    C.INTERNAL_ERROR: Fault.GATEWAY,
    C.JOBS_UNAVAILABLE: Fault.GATEWAY,
    C.AUDIT_UNAVAILABLE: Fault.OPERATOR,
    C.RETURN_DATA_DISABLED: Fault.OPERATOR,
    C.OUTBOX_UNAVAILABLE: Fault.OPERATOR,
    C.SHARED_STATE_UNAVAILABLE: Fault.OPERATOR,
    C.DESK_NOT_FOUND: Fault.CALLER,
    C.DESK_NOT_CONNECTED: Fault.OPERATOR,
    C.DESK_UNAVAILABLE: Fault.OPERATOR,
    C.DESK_ENROLMENT_REFUSED: Fault.OPERATOR,
    C.DESKS_DISABLED: Fault.OPERATOR,
    C.DESK_FRAME_INVALID: Fault.READER,
    C.DESK_READING_REPLAYED: Fault.READER,
    C.DESK_READING_LATE: Fault.OPERATOR,
    C.DESK_READING_FOREIGN: Fault.READER,
    C.DESK_READING_TAMPERED: Fault.READER,
    C.DESK_SAM_NOT_BOUND: Fault.OPERATOR,
}


def fault_of(code: ErrorCode) -> Fault:
    """The party at fault for `code`: the table above, else its prefix, else the caller."""
    if code in FAULTS:
        return FAULTS[code]
    prefix = next((fault for p, fault in _BY_PREFIX if code.value.startswith(p)), None)
    return prefix or Fault.CALLER


def problem_for(code: ErrorCode) -> Problem:
    return PROBLEMS.get(code, PROBLEMS[ErrorCode.INTERNAL_ERROR])


def markdown_table() -> str:
    """The error table for the docs, generated so it cannot drift from the code."""
    rows = [
        "| code | HTTP | whose fault | title | likely cause and what to do |",
        "|---|---|---|---|---|",
    ]
    rows += [
        f"| `{code}` | {p.status} | {fault_of(code).value} | {p.title} | {p.hint} |"
        for code, p in PROBLEMS.items()
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
