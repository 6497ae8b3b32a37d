"""TLS for the desk channel: the access point's context, and the desk's.

The access point asks every peer for a certificate from the desk CA and checks it against the
desk CA's revocation list in the handshake itself: an expired, revoked or foreign certificate
never reaches the application. A revocation made by `ktp-gateway desks revoke` (another process)
takes effect on the next handshake: each handshake picks the context built for the roster's
current generation (the SNI callback swaps it in; it runs with or without SNI). A desk without
any certificate gets through the handshake only to enrol: the channel path requires one.
"""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

from ktp_gateway.desks.ca import DeskCa
from ktp_gateway.desks.roster import DeskRoster

CRL_FILE = "desk-ca.crl.pem"  # the CA certificate and its current CRL: what handshakes check


class ChannelTls:
    """The access point's server context, rebuilt whenever the roster's generation moves."""

    def __init__(
        self,
        *,
        cert_file: Path,
        key_file: Path | None,
        ca: DeskCa,
        roster: DeskRoster,
        directory: Path,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self._cert_file, self._key_file = cert_file, key_file
        self._ca, self._roster, self._clock = ca, roster, clock
        self._trust = directory / CRL_FILE
        self._guard = threading.Lock()
        self._built: tuple[int, ssl.SSLContext] | None = None
        self.context = self._build()  # the listener's; each handshake may switch to a newer one
        self.context.sni_callback = self._on_hello

    def _build(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(self._cert_file), self._key_file and str(self._key_file))
        crl = self._ca.revocation_list(self._roster.revoked_serials(), now=self._clock())
        self._trust.write_bytes(self._ca.certificate_pem + crl)  # public: a CA cert and a CRL
        context.load_verify_locations(cafile=str(self._trust))
        context.verify_mode = ssl.CERT_OPTIONAL  # none: enrolment only; a bad one: refused here
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF | ssl.VERIFY_X509_STRICT
        return context

    def current(self) -> ssl.SSLContext:
        """The context for the roster as it is now (cached per generation)."""
        generation = self._roster.generation
        with self._guard:
            if self._built is None or self._built[0] != generation:
                self._built = (generation, self._build())
            return self._built[1]

    def _on_hello(self, connection: ssl.SSLObject, _name: str | None, _ctx: object) -> None:
        connection.context = self.current()


def desk_context(server_ca: Path, certificate: Path | None, key: Path | None) -> ssl.SSLContext:
    """The desk's context: the access point checked against `server_ca`, the desk's own
    certificate presented when it has one (not yet while enrolling)."""
    context = ssl.create_default_context(cafile=str(server_ca))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if certificate is not None:
        context.load_cert_chain(str(certificate), key and str(key))
    return context
