"""Mutual TLS through a real TLS handshake: uvicorn with a client CA, certificates made here."""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ktp_gateway.api.app import create_app
from ktp_gateway.api.server import server_config
from ktp_gateway.config import ApiSettings, AuthSettings
from ktp_gateway_dev.stack.processes import free_port
from tests.api.callers import bearer, make_key, write_clients
from tests.api.conftest import Simulator, make_settings

NOW = dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    directory: Path,
    name: str,
    *,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None,
    ca: bool = False,
    server: bool = False,
) -> tuple[Issued, x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(issuer_cert.subject if issuer_cert else _name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(minutes=5))
        .not_valid_after(NOW + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    cert = builder.sign(issuer_key, hashes.SHA256())
    paths = Issued(directory / f"{name}.crt", directory / f"{name}.key")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths.key.chmod(0o600)
    return paths, cert, key


@dataclass(frozen=True)
class Pki:
    ca: Issued
    server: Issued
    client: Issued
    stranger: Issued  # signed by another CA


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca, ca_cert, ca_key = _issue(directory, "UJICOBA Client CA", ca=True)
    server, _, _ = _issue(directory, "ktp-gateway", issuer=(ca_cert, ca_key), server=True)
    client, _, _ = _issue(directory, "lpsk-case-app", issuer=(ca_cert, ca_key))
    _, other_cert, other_key = _issue(directory, "FIKTIF Other CA", ca=True)
    stranger, _, _ = _issue(directory, "stranger-app", issuer=(other_cert, other_key))
    return Pki(ca, server, client, stranger)


def _serve(
    settings_auth: AuthSettings, sim: Simulator, pki: Pki, parser: str = "httptools"
) -> Iterator[int]:
    port = free_port()
    api = ApiSettings(
        port=port,
        tls_cert_file=pki.server.cert,
        tls_key_file=pki.server.key,
        http_parser=parser,  # type: ignore[arg-type]
        event_loop="uvloop" if parser == "httptools" else "asyncio",
    )
    settings = make_settings(sim.base_url).model_copy(update={"api": api, "auth": settings_auth})
    server = uvicorn.Server(server_config(create_app(settings), settings))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the TLS gateway did not start"
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _get(
    port: int, pki: Pki, client: Issued | None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    context = ssl.create_default_context(cafile=str(pki.ca.cert))
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        connection.request("GET", "/v1/caller", headers=headers or {})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.fixture(params=["httptools", "h11"])
def required(sim: Simulator, pki: Pki, request: pytest.FixtureRequest) -> Iterator[int]:
    """Either HTTP parser carries the client certificate's identity."""
    yield from _serve(AuthSettings(client_ca_file=pki.ca.cert), sim, pki, request.param)


def test_a_certificate_from_the_client_ca_identifies_the_client(required: int, pki: Pki) -> None:
    status, body = _get(required, pki, pki.client)
    assert status == 200
    assert body["client"] == "lpsk-case-app" and body["auth"] == "mtls"


@pytest.mark.parametrize("who", ["nobody", "stranger"])
def test_no_certificate_or_another_cas_fails_the_handshake(
    required: int, pki: Pki, who: str
) -> None:
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
        _get(required, pki, None if who == "nobody" else pki.stranger)


def test_with_optional_certificates_a_key_works_and_the_file_names_cert_clients(
    sim: Simulator, pki: Pki, tmp_path: Path
) -> None:
    key, entry = make_key()
    clients = write_clients(
        tmp_path / "clients.yaml",
        [
            {"name": "case-app", "certificate_names": ["lpsk-case-app"]},
            {"name": "intake", "keys": [entry]},
        ],
    )
    auth = AuthSettings(
        client_ca_file=pki.ca.cert, clients_file=clients, require_client_certificate=False
    )
    for port in _serve(auth, sim, pki):
        status, body = _get(port, pki, pki.client)
        assert (status, body["client"], body["auth"]) == (200, "case-app", "mtls")
        status, body = _get(port, pki, None, bearer(key))
        assert (status, body["client"], body["auth"]) == (200, "intake", "api_key")
        status, body = _get(port, pki, None)
        assert status == 401 and body["code"] == "unauthorized"
