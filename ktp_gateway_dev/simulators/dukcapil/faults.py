"""Answers from outside the envelope: proxy pages, empty and broken bodies, server errors.

Bodies here never carry personal data: the faults are about the transport, not a person.
"""

from __future__ import annotations

import json

from starlette.responses import Response

from ktp_gateway_dev.simulators.dukcapil.config import Fault, FaultMode, Style
from ktp_gateway_dev.simulators.dukcapil.responses import NOT_FOUND, envelope

JSON = "application/json;charset=UTF-8"
_NOT_FOUND = json.dumps(envelope([NOT_FOUND.record(Style.LEGACY)], None))

PROXY_PAGE = (
    "<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>{status} Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
# Plausible but unseen: what the client must report as an unknown response, text included.
UNKNOWN_TEXT = "Layanan Sedang Dalam Pemeliharaan"
SERVER_ERROR = {"status": 500, "error": "Internal Server Error", "message": "No message available"}


def fault_response(fault: Fault) -> Response:
    """The broken answer for a fault mode (TIMEOUT is a delay, handled by the caller)."""
    match fault.mode:
        case FaultMode.HTML:
            page = PROXY_PAGE.format(status=fault.status)
            return Response(page, status_code=fault.status, media_type="text/html")
        case FaultMode.EMPTY:
            return Response(b"", media_type=JSON)
        case FaultMode.BROKEN_JSON:
            return Response(_NOT_FOUND[: len(_NOT_FOUND) // 2], media_type=JSON)
        case FaultMode.WRONG_CONTENT_TYPE:
            return Response(_NOT_FOUND, media_type="text/plain")
        case FaultMode.WRONG_SHAPE:
            return Response(json.dumps({"content": "Data Tidak Ditemukan"}), media_type=JSON)
        case FaultMode.UNKNOWN_RESPON:
            return Response(json.dumps(envelope([{"RESPON": UNKNOWN_TEXT}], None)), media_type=JSON)
        case FaultMode.HTTP_500:
            return Response(json.dumps(SERVER_ERROR), status_code=500, media_type=JSON)
    raise ValueError(f"fault mode {fault.mode.value} has no canned answer")
