"""A desk's name and where a certificate carries it.

Names are short operator-chosen labels (`meja-1`, `kantor-medan-3`): they label metrics and audit
records, so they are bounded and never a person's name or an officer's id.
"""

from __future__ import annotations

import re

from cryptography import x509

from ktp_gateway.errors import ErrorCode, RequestError

DESK_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
DESK_URI = "urn:ktp-gateway:desk:"  # the SAN URI naming the desk in its certificate


def check_desk_name(name: str) -> str:
    """`name` if it is a valid desk name, else `invalid_request` (nothing else is stored)."""
    if not DESK_NAME.fullmatch(name):
        raise RequestError(
            "a desk name is 1-40 lowercase letters, digits or '-', starting with a letter or digit",
            code=ErrorCode.INVALID_REQUEST,
        )
    return name


def desk_of(certificate: x509.Certificate) -> str | None:
    """The desk a certificate names (its SAN URI), None for any other certificate."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    for uri in san.value.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(DESK_URI) and DESK_NAME.fullmatch(uri[len(DESK_URI) :]):
            return uri[len(DESK_URI) :]
    return None
