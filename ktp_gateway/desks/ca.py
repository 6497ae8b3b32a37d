"""The access point's own desk CA: it signs each desk's certificate and the list of revoked ones.

It is a private CA with one job, separate from any CA the agency runs for its API callers: a desk
certificate opens the desk channel and nothing else. Its key lives owner-only in the desks
directory of the access point and is never sent anywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ktp_gateway.desks.files import write_private
from ktp_gateway.desks.identity import DESK_URI, check_desk_name
from ktp_gateway.errors import ConfigurationError, ErrorCode, RequestError

CA_CERT, CA_KEY = "desk-ca.crt", "desk-ca.key"
CA_YEARS = 10
MIN_RSA_BITS = 2048
EC_CURVES = (ec.SECP256R1, ec.SECP384R1)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """A desk certificate as issued: the PEM sent to the desk, what the roster keeps of it."""

    pem: bytes
    serial: int
    not_after: dt.datetime


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _check_key(key: object) -> None:
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, EC_CURVES):
        return
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= MIN_RSA_BITS:
        return
    raise RequestError(
        "a desk key is EC P-256/P-384 or RSA of 2048 bits or more",
        code=ErrorCode.INVALID_REQUEST,
    )


def load_csr(pem: bytes) -> x509.CertificateSigningRequest:
    """A signing request whose signature proves the desk holds the key (the key never travels)."""
    try:
        csr = x509.load_pem_x509_csr(pem)
    except ValueError:
        raise RequestError(
            "the certificate request is not a PEM CSR", code=ErrorCode.INVALID_REQUEST
        ) from None
    if not csr.is_signature_valid:
        raise RequestError(
            "the certificate request is not signed by its key", code=ErrorCode.INVALID_REQUEST
        )
    _check_key(csr.public_key())
    return csr


class DeskCa:
    """Signs desk certificates (naming the desk) and the revocation list the channel checks."""

    def __init__(self, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self.certificate, self._key = certificate, key

    @classmethod
    def open(cls, directory: Path, *, agency: str, now: dt.datetime | None = None) -> DeskCa:
        """The CA in `directory`, made there on first use (key owner-only)."""
        cert_path, key_path = directory / CA_CERT, directory / CA_KEY
        if cert_path.exists() and key_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ConfigurationError(f"{key_path} is not an EC private key")
            return cls(x509.load_pem_x509_certificate(cert_path.read_bytes()), key)
        ca = cls._create(agency, now or utc_now())
        write_private(key_path, ca._key_pem())
        cert_path.write_bytes(ca.certificate_pem)
        return ca

    @classmethod
    def _create(cls, agency: str, now: dt.datetime) -> DeskCa:
        key = ec.generate_private_key(ec.SECP256R1())
        name = _name(f"ktp-gateway desk CA ({agency})")
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key)

    def _key_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def _issuer_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    def issue(
        self, csr: x509.CertificateSigningRequest, desk: str, *, days: int, now: dt.datetime
    ) -> IssuedCertificate:
        """A client certificate for `desk` on the CSR's key: the name comes from the roster,
        never from the request (a desk cannot ask to be another)."""
        check_desk_name(desk)
        issuer_key = self._issuer_key()
        not_after = now + dt.timedelta(days=days)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(desk))
            .issuer_name(self.certificate.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(DESK_URI + desk)]),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        return IssuedCertificate(
            pem=certificate.public_bytes(serialization.Encoding.PEM),
            serial=certificate.serial_number,
            not_after=certificate.not_valid_after_utc,
        )

    def revocation_list(self, serials: Iterable[int], *, now: dt.datetime) -> bytes:
        """A CRL of the revoked desk certificates (PEM), for the channel's TLS handshakes."""
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + dt.timedelta(days=1))
            .add_extension(x509.CRLNumber(int(now.timestamp() * 1000)), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._issuer_key()),
                critical=False,
            )
        )
        for serial in sorted(set(serials)):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
            )
        return builder.sign(self._key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
