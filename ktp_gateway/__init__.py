"""ktp-gateway: KTP-el + Dukcapil identity verification that stores no population data."""

from __future__ import annotations

__version__ = "0.1.0"
