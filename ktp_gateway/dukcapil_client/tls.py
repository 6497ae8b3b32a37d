"""TLS toward Dukcapil: a CA bundle, and optionally the server's public key pinned.

The pin is checked inside the TLS handshake, before a single byte of the request (NIK,
password) is written: `SSLContext.sslobject_class` is a subclass whose `do_handshake` compares
the SHA-256 of the peer's SubjectPublicKeyInfo with the configured pins. aiohttp (through
asyncio's or uvloop's SSL protocol) wraps its sockets with `SSLContext.wrap_bio`, which builds
that class.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

PIN_PREFIX = "sha256/"


class PinMismatchError(ssl.SSLCertVerificationError):
    """The server's key is not one of the pinned keys."""


def parse_pin(pin: str) -> bytes:
    """A pin as 32 bytes: `sha256/<base64>` (HPKP style) or 64 hex digits."""
    text = pin.strip()
    try:
        if text.startswith(PIN_PREFIX):
            digest = base64.b64decode(text[len(PIN_PREFIX) :], validate=True)
        else:
            digest = bytes.fromhex(text.replace(":", ""))
    except (ValueError, binascii.Error):
        raise ValueError("a TLS pin is sha256/<base64> or 64 hex digits") from None
    if len(digest) != hashlib.sha256().digest_size:
        raise ValueError("a TLS pin is the 32-byte SHA-256 of the server's public key")
    return digest


def spki_sha256(der_certificate: bytes) -> bytes:
    """SHA-256 of a certificate's SubjectPublicKeyInfo (survives a re-issued certificate)."""
    public_key = x509.load_der_x509_certificate(der_certificate).public_key()
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()


def pin_of_pem(path: Path) -> str:
    """The `sha256/...` pin of a PEM certificate file (for operators and tests)."""
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    der = cert.public_bytes(serialization.Encoding.DER)
    return PIN_PREFIX + base64.b64encode(spki_sha256(der)).decode("ascii")


def _pinned_class(pins: frozenset[bytes]) -> type[ssl.SSLObject]:
    class PinnedSSLObject(ssl.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()  # raises SSLWantReadError until the handshake is complete
            der = self.getpeercert(binary_form=True)
            if der is None or spki_sha256(der) not in pins:
                raise PinMismatchError("the server's key does not match the pinned key")

    return PinnedSSLObject


def client_context(ca_bundle: Path | None, pins: tuple[str, ...]) -> ssl.SSLContext | None:
    """The SSLContext for Dukcapil, or None to use the system's default trust."""
    if ca_bundle is None and not pins:
        return None
    context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if pins:
        if ca_bundle is None:
            # Pin only: a self-signed certificate on a bare IP; the pinned key is the trust.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context.sslobject_class = _pinned_class(frozenset(parse_pin(pin) for pin in pins))
    return context


def is_pin_mismatch(exc: BaseException) -> bool:
    """Whether a transport failure was caused by a pin mismatch."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, PinMismatchError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
