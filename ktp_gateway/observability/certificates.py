"""When the certificates the settings name expire, as a metric read from the files at each scrape.

An expired Dukcapil CA stops every registry query; an expired server certificate stops every
caller; an expired client CA refuses every mutual-TLS caller. The label is the file's role in
the settings (`dukcapil_ca`, `api_server`, `client_ca`): never a subject, serial or path. A file
with several certificates (a CA bundle) reports its earliest expiry: the first one to break.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from ktp_gateway.observability.namespace import NS

if TYPE_CHECKING:
    from ktp_gateway.config import Settings

PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"


def certificate_files(settings: Settings) -> dict[str, Path]:
    """The certificate files the settings name, by role (empty without TLS)."""
    files = {
        "dukcapil_ca": settings.dukcapil.ca_bundle,
        "api_server": settings.api.tls_cert_file,
        "client_ca": settings.auth.client_ca_file,
    }
    return {role: path for role, path in files.items() if path is not None}


def earliest_expiry(path: Path) -> dt.datetime | None:
    """The earliest `notAfter` (UTC) of the PEM certificates in a file; None without any.

    Raises OSError for an unreadable file and ValueError for a malformed certificate.
    """
    data = path.read_bytes()
    if PEM_BEGIN not in data:
        return None  # a key-only or empty file: nothing that expires
    certificates = x509.load_pem_x509_certificates(data)
    return min(cert.not_valid_after_utc for cert in certificates)


def earliest_not_after(path: Path) -> float | None:
    """The earliest `notAfter` of the PEM certificates in a file as Unix time (the metric)."""
    expiry = earliest_expiry(path)
    return None if expiry is None else expiry.timestamp()


def _family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        f"{NS}_tls_certificate_expiry_timestamp_seconds",
        "When the earliest certificate in a configured file expires (Unix time), by its role",
        labels=["certificate"],
    )


class CertificateExpiryCollector(Collector):
    """Reads each file at scrape time, so a renewed certificate shows without a restart."""

    def __init__(self, files: Mapping[str, Path]) -> None:
        self._files = dict(files)

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return [_family()]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = _family()
        for role, path in sorted(self._files.items()):
            try:
                expiry = earliest_not_after(path)
            except (OSError, ValueError):  # unreadable or malformed: no value rather than a lie
                continue
            if expiry is not None:
                family.add_metric([role], expiry)
        yield family
