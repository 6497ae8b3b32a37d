"""Prometheus exposition of the gateway's own registry (never a label with personal data)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ktp_gateway.api.deps import MetricsDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(gateway: MetricsDep) -> Response:
    return Response(generate_latest(gateway.collectors), media_type=CONTENT_TYPE_LATEST)
