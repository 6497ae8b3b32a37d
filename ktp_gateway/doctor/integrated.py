"""Integrated readers (the serial family): which are attached, on which port, by which profile.

Runs beside the PC/SC checks, not after them: an office with integrated readers only needs no
pcscd for them. Finding none is fine (PC/SC readers only); the line says where it looked.
"""

from __future__ import annotations

from ktp_gateway.config import ReaderSettings
from ktp_gateway.doctor.context import Context
from ktp_gateway.doctor.model import Line, ok
from ktp_gateway.errors import ConfigurationError
from ktp_gateway.specs import load_specs

HANG_FIX = "a serial port did not answer in time: unplug the device on it, run the doctor again"
TITLE = "integrated readers"


def _where(reader: ReaderSettings, patterns: list[str]) -> str:
    return ", ".join(reader.serial_ports or patterns)


def check_integrated(context: Context) -> list[Line]:
    """The integrated readers found now (each asked who it is), or where none was."""
    reader = context.settings.reader if context.settings else ReaderSettings()
    if not reader.integrated:
        return [ok("integrated", TITLE, "off (reader.integrated is false): PC/SC readers only")]
    try:
        specs = load_specs(context.specs_dir)
    except ConfigurationError:
        return []  # the readers check names the broken spec
    service = reader.integrated_readers(specs)
    if service is None:
        return [ok("integrated", TITLE, "no integrated reader profile in firmware_specs/readers/")]
    patterns = sorted({p for profile in service.profiles for p in profile.serial.port_patterns})
    try:
        found = service.scan()
    finally:
        service.close()
    if not found:
        return [ok("integrated", TITLE, f"none found on {_where(reader, patterns)}")]
    described = "; ".join(f"'{info.name}' ({info.profile}) on {info.path}" for info in found)
    count = f"{len(found)} integrated reader{'s' if len(found) != 1 else ''}"
    return [ok("integrated", TITLE, f"{count}: {described}")]
