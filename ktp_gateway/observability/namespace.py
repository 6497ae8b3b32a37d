"""The one metric namespace: a leaf, so collectors at any layer name their series without
importing the gateway's metrics (which know the reader service)."""

from __future__ import annotations

NS = "ktp_gateway"
