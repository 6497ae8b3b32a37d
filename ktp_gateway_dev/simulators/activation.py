"""TEST-ONLY activation records for the virtual reader, as Dukcapil would deliver them.

Signed with the virtual activation signer of `simulators.keys` (trusted only by the test-only
vpcd reader profile), for the virtual SAM's serial and activation values. Deterministic by
default, so the demo, the tests and a record written with `python -m
ktp_gateway_dev.simulators.activation --out FILE` agree byte for byte.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ktp_gateway.sam.activation_record import RECORD_FORMAT, sign_record
from ktp_gateway.specs import load_specs
from ktp_gateway_dev.simulators import keys

VIRTUAL_READER_PROFILE = "vpcd-virtual"
VIRTUAL_CARD_READERS = ("Virtual PCD 00 00", "Virtual PCD 2 00 00")  # the vpcd reader units
VIRTUAL_CARD_READER = VIRTUAL_CARD_READERS[0]
VIRTUAL_AGENCY = "LPSK"
VALID_FROM = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
VALID_UNTIL = dt.datetime(2035, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


def virtual_unit(card_reader: str = VIRTUAL_CARD_READER) -> str:
    """The `unit` the vpcd reader profile finds in a virtual card slot's name."""
    profile = load_specs().readers[VIRTUAL_READER_PROFILE]
    unit = profile.unit_of(card_reader)
    if unit is None:  # the reader profile does not match this vpcd name
        raise LookupError(f"{VIRTUAL_READER_PROFILE} does not match {card_reader!r}")
    return unit


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def virtual_record(
    *,
    agency: str = VIRTUAL_AGENCY,
    sam_serial: bytes | None = None,
    unit: str | None = None,
    profile: str = VIRTUAL_READER_PROFILE,
    valid_from: dt.datetime = VALID_FROM,
    valid_until: dt.datetime = VALID_UNTIL,
    pcid: bytes | None = None,
    conf: bytes | None = None,
    reference: str = "VIRTUAL-ACTIVATION-0001",
) -> dict[str, Any]:
    """A signed record (envelope) for the virtual reader; arguments play other activations."""
    values = keys.reader_activation()
    record = {
        "format": RECORD_FORMAT,
        "reference": reference,
        "sam_serial": (sam_serial or keys.sam_serial()).hex().upper(),
        "reader": {"profile": profile, "unit": unit or virtual_unit()},
        "agency": agency,
        "valid_from": _stamp(valid_from),
        "valid_until": _stamp(valid_until),
        "pcid": (pcid or values.pcid).hex().upper(),
        "conf": (conf or values.conf).hex().upper(),
    }
    return sign_record(record, keys.activation_signer_private_key())


def virtual_records() -> list[dict[str, Any]]:
    """One record per vpcd reader unit the reader profile finds, each for that unit's own SAM."""
    profile = load_specs().readers[VIRTUAL_READER_PROFILE]
    units = [profile.unit_of(name) for name in VIRTUAL_CARD_READERS]
    return [
        virtual_record(
            unit=unit,
            sam_serial=keys.sam_serial(index + 1),
            reference=f"VIRTUAL-ACTIVATION-{index + 1:04d}",
        )
        for index, unit in enumerate(units)
        if unit is not None
    ]


def record_json(envelope: dict[str, Any] | list[dict[str, Any]]) -> str:
    """JSON text of one record or a list of them (`KTP_GATEWAY_ACTIVATION__RECORD` takes both)."""
    return json.dumps(envelope, indent=2)


def write_record(path: Path, envelope: dict[str, Any]) -> Path:
    """Write a record as an owner-only file (it holds the activation values)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(record_json(envelope))
    path.chmod(0o600)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ktp_gateway_dev.simulators.activation",
        description="Write the virtual reader's TEST-ONLY activation record (owner-only file).",
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--agency", default=VIRTUAL_AGENCY)
    args = parser.parse_args(argv)
    write_record(args.out, virtual_record(agency=args.agency))
    print(f"wrote {args.out} (TEST ONLY: virtual reader, virtual SAM)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
