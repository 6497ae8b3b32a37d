"""The gateway's error hierarchy: every failure a caller can see has one stable code.

Layers raise these (or translate their own errors into them at their boundary); the API turns
them into RFC 9457 problems in one place. Messages never carry personal data: no NIK, name,
UID or APDU payload goes into an error.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Stable, documented error codes. Never rename one; add new ones."""

    # request
    INVALID_REQUEST = "invalid_request"
    INVALID_NIK = "invalid_nik"
    # reader / card / SAM
    READER_NOT_FOUND = "reader_not_found"
    READER_UNAVAILABLE = "reader_unavailable"
    READER_BUSY = "reader_busy"
    NO_CARD = "no_card"
    CARD_REMOVED = "card_removed"
    CARD_TIMEOUT = "card_timeout"
    CARD_NOT_KTP_EL = "card_not_ktp_el"
    CARD_ERROR = "card_error"
    CARD_AUTH_FAILED = "card_auth_failed"
    CARD_DATA_INVALID = "card_data_invalid"
    CARD_NOT_GENUINE = "card_not_genuine"
    SAM_UNAVAILABLE = "sam_unavailable"
    SAM_NOT_ACTIVATED = "sam_not_activated"
    SAM_LOCKED = "sam_locked"
    SAM_ERROR = "sam_error"
    SAM_READER_MISMATCH = "sam_reader_mismatch"
    SAM_ACTIVATION_EXPIRED = "sam_activation_expired"
    READER_FRAME_INVALID = "reader_frame_invalid"  # an integrated reader's answer is malformed
    READER_NOT_RESPONDING = "reader_not_responding"  # an integrated reader stays silent
    HOLDER_CHECK_UNAVAILABLE = "holder_check_unavailable"  # a required check this reader can't do
    # Dukcapil
    DUKCAPIL_NOT_FOUND = "dukcapil_not_found"
    DUKCAPIL_NIK_FORMAT_REJECTED = "dukcapil_nik_format_rejected"
    DUKCAPIL_DUPLICATE_RECORDS = "dukcapil_duplicate_records"
    DUKCAPIL_RECORD_BLOCKED = "dukcapil_record_blocked"
    DUKCAPIL_HOLDER_DECEASED = "dukcapil_holder_deceased"
    DUKCAPIL_AUTH_FAILED = "dukcapil_auth_failed"
    DUKCAPIL_IP_NOT_ALLOWED = "dukcapil_ip_not_allowed"
    DUKCAPIL_QUOTA_EXHAUSTED = "dukcapil_quota_exhausted"
    DUKCAPIL_REJECTED = "dukcapil_rejected"
    DUKCAPIL_UNKNOWN_RESPONSE = "dukcapil_unknown_response"
    DUKCAPIL_BAD_RESPONSE = "dukcapil_bad_response"
    DUKCAPIL_TIMEOUT = "dukcapil_timeout"
    DUKCAPIL_UNAVAILABLE = "dukcapil_unavailable"
    # gateway
    CONFIGURATION_ERROR = "configuration_error"
    INTERNAL_ERROR = "internal_error"
    # API product: callers, least data, jobs, abuse limits
    UNAUTHORIZED = "unauthorized"
    FIELD_NOT_GRANTED = "field_not_granted"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    JOB_NOT_FOUND = "job_not_found"
    JOBS_UNAVAILABLE = "jobs_unavailable"
    VERIFICATION_CANCELLED = "verification_cancelled"
    REQUEST_TOO_LARGE = "request_too_large"
    RATE_LIMITED = "rate_limited"
    # agreement and accountability: who asks, for what, under which PKS
    ACCOUNTABILITY_REQUIRED = "accountability_required"
    PURPOSE_NOT_IN_AGREEMENT = "purpose_not_in_agreement"
    AGREEMENT_NOT_IN_FORCE = "agreement_not_in_force"
    AGREEMENT_SUSPENDED = "agreement_suspended"
    AUDIT_UNAVAILABLE = "audit_unavailable"
    # Dukcapil resilience and data balikan (return data)
    DUKCAPIL_CIRCUIT_OPEN = "dukcapil_circuit_open"
    RETURN_DATA_DISABLED = "return_data_disabled"
    RETURN_DATA_NOT_FOUND = "return_data_not_found"
    RETURN_DATA_NOT_RETRYABLE = "return_data_not_retryable"
    OUTBOX_UNAVAILABLE = "outbox_unavailable"
    # state several gateway processes share (docs/operator-guide.md)
    SHARED_STATE_UNAVAILABLE = "shared_state_unavailable"
    # desks and the access point (docs/desks.md)
    DESK_NOT_FOUND = "desk_not_found"
    DESK_NOT_CONNECTED = "desk_not_connected"
    DESK_UNAVAILABLE = "desk_unavailable"
    DESK_ENROLMENT_REFUSED = "desk_enrolment_refused"
    DESKS_DISABLED = "desks_disabled"
    DESK_FRAME_INVALID = "desk_frame_invalid"
    DESK_READING_REPLAYED = "desk_reading_replayed"
    DESK_READING_LATE = "desk_reading_late"
    DESK_READING_FOREIGN = "desk_reading_foreign"
    DESK_READING_TAMPERED = "desk_reading_tampered"
    DESK_SAM_NOT_BOUND = "desk_sam_not_bound"


class GatewayError(Exception):
    """Base of every error the gateway reports; `code` is what callers match on."""

    code: ErrorCode = ErrorCode.INTERNAL_ERROR
    # A fact, not a header: when trying again may help. Only api/ turns it into Retry-After.
    retry_after_seconds: float | None = None

    def __init__(self, detail: str, *, code: ErrorCode | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class RequestError(GatewayError):
    """The caller sent something the gateway refuses before touching a card or the registry."""

    code = ErrorCode.INVALID_REQUEST


class ReaderError(GatewayError):
    """PC/SC, reader, card or SAM failure."""

    code = ErrorCode.READER_UNAVAILABLE


class CardError(ReaderError):
    """The card answered wrongly, went away, or is not a KTP-el."""

    code = ErrorCode.CARD_ERROR


class SamError(ReaderError):
    """The SAM is missing, closed, or refused an operation."""

    code = ErrorCode.SAM_ERROR


class DukcapilError(GatewayError):
    """The registry refused, failed, or answered something unusable."""

    code = ErrorCode.DUKCAPIL_UNAVAILABLE


class DeskError(GatewayError):
    """A desk is unknown, not connected, lost, or refused (enrolment, binding, a reading)."""

    code = ErrorCode.DESK_UNAVAILABLE


class ConfigurationError(GatewayError):
    """Settings or a firmware spec are unusable; raised at start-up."""

    code = ErrorCode.CONFIGURATION_ERROR
