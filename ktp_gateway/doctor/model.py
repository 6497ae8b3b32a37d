"""What the doctor reports: one line per finding, its status, and the exit status of the run."""

from __future__ import annotations

from enum import IntEnum, StrEnum

from pydantic import BaseModel, ConfigDict


class Status(StrEnum):
    """A line's verdict. SKIP: not checked because a line it depends on failed first."""

    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


class ExitStatus(IntEnum):
    """The doctor's exit status: the worst line (SKIP counts as nothing: its cause is a FAIL)."""

    OK = 0
    WARN = 1
    FAIL = 2


_EXIT = {Status.OK: ExitStatus.OK, Status.SKIP: ExitStatus.OK, Status.WARN: ExitStatus.WARN}


class Line(BaseModel):
    """One finding: which check, about what, its verdict, and what to do about it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check: str  # stable id, e.g. "pcscd", "sam", "dukcapil_login"
    title: str  # what an officer reads in the first column
    status: Status
    summary: str
    fix: str | None = None  # one line; None when there is nothing to do
    reader: str | None = None  # the card slot's PC/SC name, for per-reader lines

    @property
    def exit_status(self) -> ExitStatus:
        return _EXIT.get(self.status, ExitStatus.FAIL)


def ok(check: str, title: str, summary: str, **extra: str | None) -> Line:
    """An OK line."""
    return Line(check=check, title=title, status=Status.OK, summary=summary, **extra)


def warn(check: str, title: str, summary: str, fix: str, **extra: str | None) -> Line:
    """A WARN line: works now, needs attention."""
    return Line(check=check, title=title, status=Status.WARN, summary=summary, fix=fix, **extra)


def fail(check: str, title: str, summary: str, fix: str, **extra: str | None) -> Line:
    """A FAIL line: verifications fail (or will) until fixed."""
    return Line(check=check, title=title, status=Status.FAIL, summary=summary, fix=fix, **extra)


def skip(check: str, title: str, because: str, **extra: str | None) -> Line:
    """A line not checked because an earlier one failed."""
    return Line(
        check=check, title=title, status=Status.SKIP, summary=f"not checked: {because}", **extra
    )


class Report(BaseModel):
    """The whole run, as `--json` prints it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    status: Status
    exit_status: int
    seconds: float
    lines: list[Line]


def worst(lines: list[Line]) -> ExitStatus:
    """The exit status the lines add up to."""
    return max((line.exit_status for line in lines), default=ExitStatus.OK)
