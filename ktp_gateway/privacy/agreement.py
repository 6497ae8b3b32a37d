"""The cooperation agreement (PKS) in force, as a validated file the gateway obeys.

The file names both parties and each party's number for the agreement, the validity window, the
granted fields (and whether the face photo and the family card's members are granted), the
purposes access may serve and the return-data fields. It is loaded once at start (a broken file
stops the gateway); whether the agreement is *in force* is asked again on every request, so the
end date and a suspension (termination for breach) take effect at once, without a restart. A
suspension is a switch: a file on one host (present means suspended, its text is the reason), or
a row in PostgreSQL when several processes or hosts share state (`postgres/suspension.py`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Protocol

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    model_validator,
)

from ktp_gateway.domain import GrantedField
from ktp_gateway.errors import ConfigurationError, ErrorCode, GatewayError

DEMO_AGREEMENT_FILE = Path(__file__).resolve().parents[1] / "data" / "demo-agreement.yaml"
MAX_AGREEMENT_BYTES = 64 * 1024
MAX_REASON_CHARS = 200
PURPOSE_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"

PurposeCode = Annotated[str, StringConstraints(pattern=PURPOSE_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class AgreementError(GatewayError):
    """Access refused because no agreement is in force (ended, not begun, or suspended)."""

    code = ErrorCode.AGREEMENT_NOT_IN_FORCE


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Party(_Frozen):
    """One party: its name and its own number for the agreement (each side numbers a PKS)."""

    name: Text
    number: Text


class Purpose(_Frozen):
    """A purpose access may serve; requests name it by `code`."""

    code: PurposeCode
    description: Text


class Agreement(_Frozen):
    """The PKS: parties, validity, what is granted and for what."""

    title: Text
    provider: Party  # Dukcapil
    user: Party  # the agency (LPSK)
    valid_from: dt.date
    valid_until: dt.date
    granted_fields: tuple[GrantedField, ...] = Field(min_length=1)
    photo_granted: bool = False  # foto wajah
    family_granted: StrictBool = False  # the members of the person's KK (never the KK number)
    purposes: tuple[Purpose, ...] = Field(min_length=1)
    return_data_fields: tuple[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")], ...]
    synthetic: bool = False  # a demo or test agreement: says so in every response

    @model_validator(mode="after")
    def _consistent(self) -> Agreement:
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        if GrantedField.NIK not in self.granted_fields:
            raise ValueError("granted_fields must include nik: every query is by NIK")
        if len(set(self.granted_fields)) != len(self.granted_fields):
            raise ValueError("granted_fields lists a field twice")
        codes = [p.code for p in self.purposes]
        if len(set(codes)) != len(codes):
            raise ValueError("two purposes share a code")
        return self

    @property
    def reference(self) -> str:
        """How responses and errors name the agreement: title and both parties' numbers."""
        return f"{self.title} ({self.provider.number}; {self.user.number})"

    @property
    def purpose_codes(self) -> frozenset[str]:
        return frozenset(p.code for p in self.purposes)

    def days_remaining(self, today: dt.date) -> int:
        """Days left including today; 0 or less once it has ended."""
        return (self.valid_until - today).days + 1


def load_agreement(path: Path) -> Agreement:
    """Read and validate the agreement file; any problem is a `ConfigurationError` at start."""
    try:
        if path.stat().st_size > MAX_AGREEMENT_BYTES:
            raise ConfigurationError(f"agreement file {path} is larger than an agreement needs")
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"agreement file {path} cannot be read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("agreement"), dict):
        raise ConfigurationError(f"agreement file {path} must hold one `agreement:` mapping")
    try:
        return Agreement.model_validate(data["agreement"])
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(agreement)'}: {error['msg']}"
            for error in exc.errors(include_url=False)[:5]
        )
        raise ConfigurationError(f"agreement file {path} is invalid: {problems}") from None


class AgreementState(StrEnum):
    IN_FORCE = "in_force"
    NOT_YET_VALID = "not_yet_valid"
    ENDED = "ended"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class Standing:
    """The agreement's standing on one day: in force or not, and why."""

    state: AgreementState
    days_remaining: int
    reason: str | None = None  # the suspension file's text

    @property
    def in_force(self) -> bool:
        return self.state is AgreementState.IN_FORCE


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def clean_reason(text: str) -> str:
    """A reason as shown: control characters out (a terminal's escapes), bounded, never empty."""
    text = _CONTROL.sub(" ", text).strip()[:MAX_REASON_CHARS]
    return text or "suspended (no reason given)"


class SuspensionSwitch(Protocol):
    """Where a suspension is kept; read on every access, written by the operator's command."""

    def reason(self) -> str | None:
        """The reason when suspended, else None (raise a `GatewayError` when it is unknown)."""
        ...

    def suspend(self, reason: str) -> None: ...

    def resume(self) -> bool:
        """Lift a suspension; False when none was in place."""
        ...

    def close(self) -> None: ...


class FileSwitch:
    """The switch as a file on this host: present means suspended, its text the reason."""

    def __init__(self, path: Path | None) -> None:
        self.path = path

    def reason(self) -> str | None:
        if self.path is None:
            return None
        try:
            with self.path.open("rb") as handle:
                raw = handle.read(MAX_REASON_CHARS * 4)
        except FileNotFoundError:
            return None
        except OSError:
            return "the suspension file exists but cannot be read"  # fail closed
        return raw.decode("utf-8", "replace")

    def suspend(self, reason: str) -> None:
        if self.path is None:
            raise ConfigurationError("no suspension file is configured")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(reason + "\n", encoding="utf-8")

    def resume(self) -> bool:
        if self.path is None:
            return False
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True

    def close(self) -> None:
        """Nothing held."""


class SharedOrFileSwitch:
    """The shared switch, with a suspension file left on this host still honoured.

    A file written before the switch moved to PostgreSQL (or by hand) keeps this host
    suspended, failing closed; `resume` lifts both, `suspend` writes the shared one.
    """

    def __init__(self, shared: SuspensionSwitch, file: FileSwitch) -> None:
        self.shared = shared
        self.file = file

    def reason(self) -> str | None:
        return self.file.reason() or self.shared.reason()

    def suspend(self, reason: str) -> None:
        self.shared.suspend(reason)

    def resume(self) -> bool:
        lifted = self.shared.resume()
        return self.file.resume() or lifted

    def close(self) -> None:
        self.shared.close()


def open_switch(
    agreement: Agreement, suspension_file: Path | None, postgres_dsn: str | None
) -> SuspensionSwitch:
    """The switch in PostgreSQL when state is shared there (a local file still honoured),
    else the file."""
    if postgres_dsn is None:
        return FileSwitch(suspension_file)
    from ktp_gateway.postgres.database import Database  # psycopg only when configured
    from ktp_gateway.postgres.suspension import SharedSwitch

    database = Database(
        postgres_dsn, what="suspension switch", code=ErrorCode.SHARED_STATE_UNAVAILABLE
    )
    shared = SharedSwitch(database, agreement.user.number)
    return SharedOrFileSwitch(shared, FileSwitch(suspension_file))


class AgreementGuard:
    """The agreement plus its suspension switch; asked on every access, never cached."""

    def __init__(
        self,
        agreement: Agreement,
        suspension_file: Path | None,
        *,
        switch: SuspensionSwitch | None = None,
    ) -> None:
        self.agreement = agreement
        self.suspension_file = suspension_file
        self.switch: SuspensionSwitch = switch or FileSwitch(suspension_file)

    def suspension_reason(self) -> str | None:
        """The reason text when suspended, else None (a `GatewayError` when unknown)."""
        reason = self.switch.reason()
        return None if reason is None else clean_reason(reason)

    def standing(self, today: dt.date | None = None) -> Standing:
        today = today or dt.date.today()
        agreement = self.agreement
        remaining = agreement.days_remaining(today)
        reason = self.suspension_reason()
        if reason is not None:
            return Standing(AgreementState.SUSPENDED, remaining, reason)
        if today < agreement.valid_from:
            return Standing(AgreementState.NOT_YET_VALID, remaining)
        if today > agreement.valid_until:
            return Standing(AgreementState.ENDED, remaining)
        return Standing(AgreementState.IN_FORCE, remaining)

    def require_in_force(self, today: dt.date | None = None) -> Standing:
        """The standing, or `AgreementError` naming the agreement and its dates."""
        standing = self.standing(today)
        agreement = self.agreement
        name = agreement.reference
        if standing.state is AgreementState.SUSPENDED:
            raise AgreementError(
                f"access under {name} is suspended: {standing.reason}",
                code=ErrorCode.AGREEMENT_SUSPENDED,
            )
        if standing.state is AgreementState.ENDED:
            raise AgreementError(f"{name} ended on {agreement.valid_until.isoformat()}")
        if standing.state is AgreementState.NOT_YET_VALID:
            raise AgreementError(
                f"{name} is valid from {agreement.valid_from.isoformat()} "
                f"until {agreement.valid_until.isoformat()}; it has not begun"
            )
        return standing

    def suspend(self, reason: str) -> None:
        """Suspend now (the running gateway refuses its next request); the reason is kept."""
        self.switch.suspend(clean_reason(reason))

    def resume(self) -> bool:
        """Lift a suspension; False when none was in place."""
        return self.switch.resume()
