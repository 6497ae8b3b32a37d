"""HTTPS to the simulator: the gateway trusts a pinned bundle, never an unverified certificate."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError
from structlog.testing import capture_logs

from ktp_gateway.dukcapil_client import DukcapilClient
from ktp_gateway.dukcapil_client.tls import pin_of_pem
from ktp_gateway.errors import ErrorCode

from .conftest import PEOPLE, Simulator, settings_for, start_simulator
from .test_client import expect

BUDI = PEOPLE["budi"].nik


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, as on Dukcapil's closed network."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dukcapil-simulator")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Simulator, Path]]:
    cert, key = _self_signed(tmp_path_factory.mktemp("tls"))
    sim = start_simulator("--tls-cert", str(cert), "--tls-key", str(key), https=True)
    yield sim, cert
    sim.stop()


async def test_pinned_bundle_is_trusted(tls_sim: tuple[Simulator, Path]) -> None:
    sim, cert = tls_sim
    async with DukcapilClient(settings_for(sim, ca_bundle=cert)) as client:
        assert (await client.query_nik(BUDI)).nik == BUDI


async def test_unknown_certificate_is_refused_without_retry(
    tls_sim: tuple[Simulator, Path],
) -> None:
    sim, _ = tls_sim
    async with DukcapilClient(settings_for(sim)) as client:
        with capture_logs() as logs:
            error = await expect(ErrorCode.DUKCAPIL_UNAVAILABLE, client.query_nik(BUDI))
    assert "TLS" in error.detail
    assert logs == []  # a certificate problem does not heal by retrying


async def test_insecure_dev_flag_is_loud(tls_sim: tuple[Simulator, Path]) -> None:
    sim, _ = tls_sim
    with capture_logs() as logs:
        settings = settings_for(sim, verify=False, insecure_dev=True)
        async with DukcapilClient(settings) as client:
            assert (await client.query_nik(BUDI)).nik == BUDI
    assert logs[0]["event"] == "dukcapil.tls_verification_disabled"
    assert logs[0]["log_level"] == "warning"


async def test_pinned_key_alone_trusts_a_self_signed_server(
    tls_sim: tuple[Simulator, Path],
) -> None:
    sim, cert = tls_sim
    async with DukcapilClient(settings_for(sim, tls_pins=(pin_of_pem(cert),))) as client:
        assert (await client.query_nik(BUDI)).nik == BUDI


async def test_pin_and_bundle_together(tls_sim: tuple[Simulator, Path]) -> None:
    sim, cert = tls_sim
    pin = pin_of_pem(cert)
    hex_pin = base64.b64decode(pin.removeprefix("sha256/")).hex()
    async with DukcapilClient(settings_for(sim, ca_bundle=cert, tls_pins=(hex_pin,))) as client:
        assert (await client.query_nik(BUDI)).nik == BUDI


async def test_a_wrong_pin_refuses_before_sending_anything(
    tls_sim: tuple[Simulator, Path],
) -> None:
    sim, cert = tls_sim
    wrong = "sha256/" + base64.b64encode(bytes(32)).decode()
    settings = settings_for(sim, ca_bundle=cert, tls_pins=(wrong,))
    async with DukcapilClient(settings) as client:
        with capture_logs() as logs:
            error = await expect(ErrorCode.DUKCAPIL_UNAVAILABLE, client.query_nik(BUDI))
    assert "pinned key" in error.detail
    assert logs == []  # not retried


def test_malformed_pins_are_refused_at_start(tls_sim: tuple[Simulator, Path]) -> None:
    sim, _ = tls_sim
    for pin in ("sha256/bm90LWEtaGFzaA==", "abcd", "sha256/!!"):
        with pytest.raises(ValidationError):
            settings_for(sim, tls_pins=(pin,))
