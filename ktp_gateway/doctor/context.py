"""What every check may read: the settings (or why they did not load) and the run's options."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from ktp_gateway.config import CONFIG_ENV, Settings
from ktp_gateway.errors import GatewayError
from ktp_gateway.reader.smartcard.pairs import ReaderPair
from ktp_gateway.specs import DEFAULT_SPECS_DIR, Specs

MAX_PROBLEMS = 3


@dataclass(frozen=True, slots=True)
class Options:
    """The command line's choices."""

    timeout: float = 10.0  # per check: a hung pcscd or network never hangs the doctor
    warn_days: int = 30  # SAM activation, agreement and certificates: warn this long before
    expect_virtual: bool = False  # the virtual test stack: test-only readers, demo agreement


@dataclass
class Context:
    """Shared by the check families, which run in parallel threads (each writes its own fields)."""

    options: Options
    settings: Settings | None
    settings_error: str | None
    specs: Specs | None = None  # set by the readers check
    pairs: list[ReaderPair] | None = None  # set by the readers check
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def specs_dir(self) -> Path:
        return self.settings.reader.specs_dir if self.settings else DEFAULT_SPECS_DIR


def settings_problem(exc: Exception) -> str:
    """A load error in one line: where and what, never the value (it could be a secret)."""
    if isinstance(exc, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in error['loc']) or 'settings'}: "
            + str(error["msg"]).removeprefix("Value error, ")
            for error in exc.errors(include_url=False, include_input=False)[:MAX_PROBLEMS]
        ]
        more = exc.error_count() - len(parts)
        return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
    if isinstance(exc, GatewayError):
        return exc.detail
    return type(exc).__name__


def load_desk_context(options: Options) -> Context:
    """A desk's settings in the shape the hardware checks read (readers, activation, agency):
    the access point's settings are never loaded on a desk."""
    from ktp_gateway.config import AgreementSettings
    from ktp_gateway.desk_agent.settings import DeskAgentSettings

    try:
        desk = DeskAgentSettings()
        settings = Settings(
            reader=desk.reader,
            activation=desk.activation,
            agreement=AgreementSettings(agency=desk.agency),
        )
    except (ValidationError, GatewayError, OSError, ValueError) as exc:
        return Context(options, None, settings_problem(exc))
    return Context(options, settings, None)


def load_context(options: Options) -> Context:
    """Load the settings as `serve` would; a failure is kept for the settings line to report."""
    config_file = os.environ.get(CONFIG_ENV)
    if config_file and not Path(config_file).is_file():
        missing = f"{CONFIG_ENV} names {config_file}, which is not a readable file"
        return Context(options, None, missing)
    try:
        return Context(options, Settings(), None)
    except (ValidationError, GatewayError, OSError, ValueError) as exc:
        return Context(options, None, settings_problem(exc))
