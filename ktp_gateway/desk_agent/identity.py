"""The desk's identity on disk: its key (made here, owner-only, never sent), the certificate the
access point's desk CA issued, the CA that signs the access point's server certificate, and
where the access point is.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ktp_gateway.desks.files import is_owner_only, write_private
from ktp_gateway.desks.frames import EnrolRequest, Refused, error_code, parse_enrol_answer
from ktp_gateway.desks.identity import desk_of
from ktp_gateway.desks.tls import desk_context
from ktp_gateway.desks.transport import Heartbeat, dial
from ktp_gateway.errors import ConfigurationError, DeskError, ErrorCode

KEY, CERT, SERVER_CA, ACCESS_POINT = "desk.key", "desk.crt", "server-ca.crt", "access-point.json"
ENROL_HEARTBEAT = Heartbeat(interval_seconds=20.0, timeout_seconds=20.0)
ENROL_FRAME_BYTES = 64 * 1024


def _private_key(directory: Path) -> ec.EllipticCurvePrivateKey:
    """The desk's key: made once, kept across renewals (only the certificate changes)."""
    path = directory / KEY
    if path.exists():
        if not is_owner_only(path):
            raise ConfigurationError(f"{path} is readable by others: chmod 600 it")
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ConfigurationError(f"{path} is not an EC private key")
        return key
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(path, pem)
    return key


def signing_request(directory: Path) -> str:
    """A CSR for the desk's key (its subject is a placeholder: the access point names the desk)."""
    key = _private_key(directory)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ktp-gateway desk")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True, slots=True)
class DeskIdentity:
    """An enrolled desk's files: read again for each connection (a renewal swaps the cert)."""

    directory: Path
    desk: str
    url: str  # the access point's desk channel: wss://host:port

    @classmethod
    def load(cls, directory: Path) -> DeskIdentity:
        try:
            where = json.loads((directory / ACCESS_POINT).read_text(encoding="utf-8"))
            certificate = x509.load_pem_x509_certificate((directory / CERT).read_bytes())
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"this desk is not enrolled ({type(exc).__name__} in {directory}): "
                "run `ktp-gateway desk enrol`"
            ) from None
        _private_key(directory)  # owner-only, or refused now rather than at the handshake
        desk = desk_of(certificate)
        if desk is None:
            raise ConfigurationError(f"{directory / CERT} is not a desk certificate")
        return cls(directory=directory, desk=desk, url=str(where["url"]))

    def private_key(self) -> ec.EllipticCurvePrivateKey:
        """The desk's key: it signs each reading (readings.py)."""
        return _private_key(self.directory)

    def context(self) -> ssl.SSLContext:
        return desk_context(self.directory / SERVER_CA, self.directory / CERT, self.directory / KEY)

    @property
    def not_after(self) -> dt.datetime:
        cert = x509.load_pem_x509_certificate((self.directory / CERT).read_bytes())
        return cert.not_valid_after_utc

    def store_certificate(self, pem: str) -> None:
        """A renewed certificate, checked to be for this key and this desk, then swapped in."""
        certificate = x509.load_pem_x509_certificate(pem.encode())
        key = _private_key(self.directory)
        if certificate.public_key() != key.public_key() or desk_of(certificate) != self.desk:
            raise DeskError(
                "the renewed certificate is not this desk's", code=ErrorCode.DESK_FRAME_INVALID
            )
        write_private(self.directory / CERT, pem.encode())


async def enrol(url: str, code: str, server_ca: Path, directory: Path) -> DeskIdentity:
    """Redeem a one-time code at the access point: a certificate for a key made here."""
    url = url.rstrip("/")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    request = EnrolRequest(code=code, csr=signing_request(directory))
    context = desk_context(server_ca, None, None)
    async with dial(
        f"{url}/enrol",
        context=context,
        max_frame_bytes=ENROL_FRAME_BYTES,
        heartbeat=ENROL_HEARTBEAT,
    ) as link:
        await link.send(request.model_dump_json())
        answer = parse_enrol_answer(await link.receive())
    if isinstance(answer, Refused):
        raise DeskError(answer.detail, code=error_code(answer.code))
    if server_ca.resolve() != (directory / SERVER_CA).resolve():
        shutil.copyfile(server_ca, directory / SERVER_CA)
    write_private(directory / CERT, answer.certificate.encode())
    (directory / ACCESS_POINT).write_text(
        json.dumps({"url": url, "desk": answer.desk}), encoding="utf-8"
    )
    return DeskIdentity.load(directory)
