"""Activation records for tests: the virtual reader's, or one played differently."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ktp_gateway.sam.activation_record import parse_record
from ktp_gateway.sam.binding import Activations, Clock, utc_now
from ktp_gateway.specs import load_specs
from ktp_gateway_dev.simulators.activation import VIRTUAL_AGENCY, record_json, virtual_record


def virtual_activations(
    *, agency: str = VIRTUAL_AGENCY, clock: Clock = utc_now, **record: Any
) -> Activations:
    """`Activations` holding one signed record (`record` overrides `virtual_record`'s fields)."""
    parsed = parse_record(record_json(virtual_record(**record)), load_specs(), "test")
    return Activations([parsed], agency=agency, clock=clock)


def at(year: int, month: int = 1, day: int = 1) -> Clock:
    """A fixed clock (UTC)."""
    moment = dt.datetime(year, month, day, tzinfo=dt.UTC)
    return lambda: moment
