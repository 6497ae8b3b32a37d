"""The desk CA and the roster: certificates name the desk, codes are single use and short-lived."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ktp_gateway.desks.ca import DeskCa, load_csr
from ktp_gateway.desks.identity import desk_of
from ktp_gateway.desks.roster import DeskRoster
from ktp_gateway.errors import DeskError, ErrorCode, RequestError

NOW = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)


def _csr(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, name: str = "meja-9") -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    csr = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def test_a_desk_certificate_names_the_desk_from_the_roster_not_the_request(tmp_path: Path) -> None:
    ca = DeskCa.open(tmp_path, agency="LPSK", now=NOW)
    key = ec.generate_private_key(ec.SECP256R1())
    issued = ca.issue(load_csr(_csr(key, name="kantor-pusat-admin")), "meja-1", days=30, now=NOW)
    certificate = x509.load_pem_x509_certificate(issued.pem)
    assert desk_of(certificate) == "meja-1"
    assert certificate.public_key() == key.public_key()
    assert certificate.not_valid_after_utc == NOW + dt.timedelta(days=30)
    usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    ca_key = ca.certificate.public_key()
    assert isinstance(ca_key, ec.EllipticCurvePublicKey)
    certificate.verify_directly_issued_by(ca.certificate)


def test_the_ca_is_made_once_with_an_owner_only_key_and_then_reused(tmp_path: Path) -> None:
    first = DeskCa.open(tmp_path, agency="LPSK", now=NOW)
    assert (tmp_path / "desk-ca.key").stat().st_mode & 0o077 == 0
    again = DeskCa.open(tmp_path, agency="LPSK", now=NOW)
    assert again.certificate == first.certificate


def test_requests_not_signed_by_their_key_or_with_weak_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RequestError):
        load_csr(b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the point
    with pytest.raises(RequestError, match="2048"):
        load_csr(_csr(weak))
    with pytest.raises(RequestError, match="desk name"):
        DeskCa.open(tmp_path, agency="LPSK").issue(
            load_csr(_csr(ec.generate_private_key(ec.SECP256R1()))), "Meja Satu", days=1, now=NOW
        )


def test_the_revocation_list_names_each_revoked_serial(tmp_path: Path) -> None:
    ca = DeskCa.open(tmp_path, agency="LPSK", now=NOW)
    crl = x509.load_pem_x509_crl(ca.revocation_list([7, 9, 7], now=NOW))
    assert sorted(entry.serial_number for entry in crl) == [7, 9]
    assert crl.is_signature_valid(ca.certificate.public_key())  # type: ignore[arg-type]


def test_a_code_is_used_once_and_names_its_desk(tmp_path: Path) -> None:
    roster = DeskRoster(tmp_path)
    code = roster.invite("meja-1", minutes=15, now=NOW)
    assert len(code.replace("-", "")) == 20
    assert roster.redeem(code.lower().replace("-", " "), now=NOW) == "meja-1"  # as typed
    with pytest.raises(DeskError) as refused:
        roster.redeem(code, now=NOW)
    assert refused.value.code is ErrorCode.DESK_ENROLMENT_REFUSED


def test_an_expired_or_unknown_code_is_refused_alike_and_spent(tmp_path: Path) -> None:
    roster = DeskRoster(tmp_path)
    code = roster.invite("meja-1", minutes=15, now=NOW)
    late = NOW + dt.timedelta(minutes=16)
    for attempt in (code, "AAAAA-BBBBB-CCCCC-DDDDD"):
        with pytest.raises(DeskError) as refused:
            roster.redeem(attempt, now=late)
        assert refused.value.code is ErrorCode.DESK_ENROLMENT_REFUSED
    entry = roster.entry("meja-1")
    assert entry is not None and not entry.code_pending and entry.state == "invited"


def test_revoking_frees_the_certificate_and_moves_the_generation(tmp_path: Path) -> None:
    roster, ca = DeskRoster(tmp_path), DeskCa.open(tmp_path, agency="LPSK", now=NOW)
    key = ec.generate_private_key(ec.SECP256R1())
    roster.redeem(roster.invite("meja-1", minutes=15, now=NOW), now=NOW)
    issued = ca.issue(load_csr(_csr(key)), "meja-1", days=30, now=NOW)
    roster.enrolled("meja-1", issued, now=NOW)
    assert roster.holds("meja-1", issued.serial)
    before = roster.generation
    # Another process (the operator's `desks revoke`) sees the same file.
    DeskRoster(tmp_path).revoke("meja-1", now=NOW)
    assert roster.generation > before
    assert not roster.holds("meja-1", issued.serial)
    assert issued.serial in roster.revoked_serials()
    entry = roster.entry("meja-1")
    assert entry is not None and entry.state == "revoked"
    with pytest.raises(DeskError) as unknown:
        roster.revoke("meja-404", now=NOW)
    assert unknown.value.code is ErrorCode.DESK_NOT_FOUND


def test_re_enrolment_revokes_the_certificate_held_before(tmp_path: Path) -> None:
    roster, ca = DeskRoster(tmp_path), DeskCa.open(tmp_path, agency="LPSK", now=NOW)
    key = ec.generate_private_key(ec.SECP256R1())
    first = ca.issue(load_csr(_csr(key)), "meja-1", days=30, now=NOW)
    roster.invite("meja-1", minutes=15, now=NOW)
    roster.enrolled("meja-1", first, now=NOW)
    second = ca.issue(load_csr(_csr(key)), "meja-1", days=30, now=NOW)
    roster.enrolled("meja-1", second, now=NOW)
    assert roster.holds("meja-1", second.serial) and not roster.holds("meja-1", first.serial)
    assert first.serial in roster.revoked_serials()
