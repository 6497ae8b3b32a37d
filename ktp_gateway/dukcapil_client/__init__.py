"""The Dukcapil NIK client: settings, wire models, the granted-field mapping and the message table.

Only `http.py` speaks HTTP (aiohttp); everything else is pure and unit-tested with fixed vectors.
Callers use `DukcapilClient.query_nik` and match on `DukcapilError.code`.
"""

from __future__ import annotations

from ktp_gateway.dukcapil_client.client import DukcapilClient, DukcapilObserver
from ktp_gateway.dukcapil_client.settings import DukcapilSettings, KeyStyle

__all__ = ["DukcapilClient", "DukcapilObserver", "DukcapilSettings", "KeyStyle"]
