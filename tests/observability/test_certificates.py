"""Certificate expiry by role, read from the configured files at each scrape."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from prometheus_client import CollectorRegistry, generate_latest

from ktp_gateway.config import Settings
from ktp_gateway.observability.certificates import CertificateExpiryCollector, certificate_files

METRIC = "ktp_gateway_tls_certificate_expiry_timestamp_seconds"
UTC = dt.UTC


def pem(name: str, not_after: dt.datetime) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - dt.timedelta(days=365))
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_a_bundle_reports_its_earliest_expiry_and_a_renewal_shows_at_once(tmp_path: Path) -> None:
    soon, later = dt.datetime(2027, 1, 1, tzinfo=UTC), dt.datetime(2030, 1, 1, tzinfo=UTC)
    bundle = tmp_path / "dukcapil-ca.pem"
    bundle.write_bytes(pem("CA Satu Contoh", later) + pem("CA Dua Contoh", soon))
    registry = CollectorRegistry()
    registry.register(CertificateExpiryCollector({"dukcapil_ca": bundle}))
    assert registry.get_sample_value(METRIC, {"certificate": "dukcapil_ca"}) == soon.timestamp()
    bundle.write_bytes(pem("CA Satu Contoh", later))
    assert registry.get_sample_value(METRIC, {"certificate": "dukcapil_ca"}) == later.timestamp()
    assert "Contoh" not in generate_latest(registry).decode()  # a role, never a subject


def test_an_unreadable_or_certificate_free_file_gives_no_value(tmp_path: Path) -> None:
    junk, gone = tmp_path / "junk.pem", tmp_path / "gone.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    key_only = tmp_path / "key.pem"
    key_only.write_text("nothing that expires\n")
    registry = CollectorRegistry()
    files = {"api_server": junk, "client_ca": gone, "dukcapil_ca": key_only}
    registry.register(CertificateExpiryCollector(files))
    assert not [s for m in registry.collect() for s in m.samples if s.name == METRIC]


def test_the_roles_are_the_settings_certificate_files(tmp_path: Path) -> None:
    ca, server = tmp_path / "ca.pem", tmp_path / "server.pem"
    ca.write_bytes(pem("CA", dt.datetime(2030, 1, 1, tzinfo=UTC)))
    server.write_bytes(ca.read_bytes())
    settings = Settings.model_validate(
        {
            "dukcapil": {"ca_bundle": str(ca)},
            "api": {"tls_cert_file": str(server), "tls_key_file": str(server)},
        }
    )
    assert certificate_files(settings) == {"dukcapil_ca": ca, "api_server": server}
    assert certificate_files(Settings.model_validate({})) == {}
