"""What is installed: Python and the libraries support staff ask about first."""

from __future__ import annotations

import platform
from importlib import metadata

from ktp_gateway import __version__
from ktp_gateway.doctor.context import Context
from ktp_gateway.doctor.model import Line, ok

LIBRARIES = ("pyscard", "cryptography", "pydantic", "fastapi", "uvicorn", "httpx", "structlog")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def check_versions(_context: Context) -> list[Line]:
    """Python, ktp-gateway and library versions (pcsc-lite is on the pcscd line)."""
    parts = [f"Python {platform.python_version()}", f"ktp-gateway {__version__}"]
    parts += [f"{name} {_version(name)}" for name in LIBRARIES]
    return [ok("versions", "versions", "; ".join(parts))]
