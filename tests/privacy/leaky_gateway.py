"""A gateway with leaks put in on purpose: the canary search must find each one and name where.

Run as `python -m tests.privacy.leaky_gateway serve` (the canary run's gateway command). Each
leak is a kind of mistake the policy exists to prevent, in a different place and encoding.
"""

from __future__ import annotations

import base64
import sys
import tempfile
from pathlib import Path
from typing import Any

from ktp_gateway import cli
from ktp_gateway.domain import PersonData
from ktp_gateway.dukcapil_client.client import DukcapilClient
from ktp_gateway.errors import DukcapilError
from ktp_gateway.observability.metrics import GatewayMetrics
from ktp_gateway.privacy.agreement import Agreement
from ktp_gateway.privacy.policy import Access
from ktp_gateway.reader.card.tap import CardReading
from ktp_gateway.reader.service import ReaderService

_read = ReaderService.read
_card_read = GatewayMetrics.card_read
_audit_data = Access.audit_data
_query_nik = DukcapilClient.query_nik


async def _leaky_read(self: ReaderService, *args: Any, **kwargs: Any) -> CardReading:
    reading = await _read(self, *args, **kwargs)
    person = reading.person
    # a temp file: the NIK, plain
    with tempfile.NamedTemporaryFile(prefix="leak-", delete=False) as handle:
        handle.write(person.nik.encode())
    # log output past the redaction: the name, base64
    name = (person.nama_lengkap or "").encode()
    print("debug card", base64.b64encode(name).decode(), file=sys.stderr, flush=True)
    # the working directory: the photo, hex
    Path("photo-cache.hex").write_text(bytes(reading.photo).hex(), encoding="ascii")
    return reading


def _leaky_card_read(self: GatewayMetrics, reading: CardReading) -> None:
    _card_read(self, reading)
    # a metric label: the place of birth
    self.card_reads.labels(reader=reading.person.tempat_lahir or "-", outcome="ok").inc()


def _leaky_audit(self: Access, latency_ms: float, agreement: Agreement) -> dict[str, object]:
    data = _audit_data(self, latency_ms, agreement)
    # the audit store: the mother's name
    mothers = [p.nama_ibu_kandung for p in self.released if p.nama_ibu_kandung]
    if mothers:
        data["note"] = mothers[0]
    return data


async def _leaky_query(self: DukcapilClient, nik: str) -> PersonData:
    try:
        return await _query_nik(self, nik)
    except DukcapilError as exc:
        # an error response: the NIK in the problem's detail
        raise DukcapilError(f"no usable record for NIK {nik}", code=exc.code) from None


ReaderService.read = _leaky_read  # type: ignore[method-assign]
GatewayMetrics.card_read = _leaky_card_read  # type: ignore[method-assign]
Access.audit_data = _leaky_audit  # type: ignore[method-assign]
DukcapilClient.query_nik = _leaky_query  # type: ignore[method-assign]

if __name__ == "__main__":
    raise SystemExit(cli.main(sys.argv[1:]))
