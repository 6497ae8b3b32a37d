"""Prometheus exposition of the gateway's own registry (never a label with personal data)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ktp_gateway.api.deps import MetricsDep
from ktp_gateway.observability import multiprocess

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(gateway: MetricsDep) -> Response:
    if multiprocess.enabled():  # a worker of `serve --workers N`: the sums over all workers
        return Response(multiprocess.exposition(gateway.collectors), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(gateway.collectors), media_type=CONTENT_TYPE_LATEST)
