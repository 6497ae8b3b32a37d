"""The access point's desk settings (`desks.*`): off by default, the single machine needs none."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class DesksSettings(BaseModel):
    """Desk agents connecting to this access point (docs/desks.md)."""

    model_config = ConfigDict(extra="forbid")

    # Listen for desk agents (mutual TLS with the desk CA's certificates); needs api.tls_cert_file.
    enabled: bool = False
    # Address the desk channel binds to: where the officers' PCs reach the access point.
    host: str = "127.0.0.1"
    # TCP port of the desk channel (WebSocket over mutual TLS), apart from the REST API's.
    port: int = Field(default=8601, ge=1, le=65535)
    # The desk CA's key and certificate, the roster of desks (owner-only; back it up).
    dir: Path = Path("/var/lib/ktp-gateway/desks")
    # Days a desk certificate is valid; the desk renews it over its live connection.
    certificate_days: int = Field(default=30, ge=1, le=397)
    # A desk renews when its certificate has fewer days left than this.
    renew_before_days: int = Field(default=10, ge=1, le=365)
    # Minutes a one-time enrolment code (`ktp-gateway desks enrol NAME`) stays usable.
    code_minutes: float = Field(default=15, gt=0, le=24 * 60)
    # Seconds between heartbeats (WebSocket pings); a desk silent for two is counted down.
    heartbeat_seconds: float = Field(default=10.0, ge=0.5, le=300)
    # Largest frame in bytes a desk may send (a reading with its photo fits many times over).
    max_frame_bytes: int = Field(default=512 * 1024, ge=16 * 1024, le=16 * 1024 * 1024)
