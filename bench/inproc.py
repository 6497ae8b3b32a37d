"""`python -m bench.inproc`: the CPU of one NIK lookup inside the gateway's app, in this process.

`bench.scale` and `bench.ab` measure the gateway process from outside, where this VM's drift
hides a step under ~5 %. Here the app itself (`create_app`: middleware, authentication, rate
limits, validation, policy, the audit trail with fsync, the Dukcapil client over aiohttp,
release, serialisation, the log line) is driven through its ASGI interface in this process,
against the real simulator process, and the CPU this process spends per lookup is read with
`time.process_time`: no uvicorn, no HTTP parsing, no load client in the figure. Alternate
batches of two trees (`PYTHONSAFEPATH=1 PYTHONPATH=<tree>`) to compare a step.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvloop

from bench.rest import PERSON
from bench.stack import NO_PCSC, UNLIMITED, bench_stack
from ktp_gateway.api.app import create_app
from ktp_gateway.config import Settings
from ktp_gateway.observability.logs import configure_logging
from ktp_gateway_dev.demo import DEMO_ACCOUNTABILITY, demo_client, gateway_env
from ktp_gateway_dev.simulators.population import load_population
from ktp_gateway_dev.stack.processes import free_port

PATH = "/v1/nik-lookups"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _scope(api_key: str, length: int, method: str = "POST", path: str = PATH) -> dict[str, Any]:
    headers = [
        (b"host", b"127.0.0.1"),
        (b"authorization", f"Bearer {api_key}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(length).encode()),
    ]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8600),
    }


async def _drive(
    app: Any,
    api_key: str,
    body: bytes,
    requests: int,
    concurrency: int,
    *,
    method: str = "POST",
    path: str = PATH,
) -> float:
    """`requests` lookups (or other requests) through the app, `concurrency` at a time; CPU ms
    per request."""
    statuses: dict[int, int] = {}

    async def one() -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the caller stays connected
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app(_scope(api_key, len(body), method, path), receive, send)

    async def worker(count: int) -> None:
        for _ in range(count):
            await one()

    share = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    started = time.process_time()
    await asyncio.gather(*(worker(n) for n in share))
    cpu = time.process_time() - started
    if set(statuses) != {200}:
        raise RuntimeError(f"unexpected statuses {statuses}")
    return cpu * 1000 / requests


_MISSING = object()


@contextmanager
def _attribute(owner: Any, name: str, value: Any) -> Iterator[None]:
    """`owner.name` replaced for the block (an instance attribute over a method, or another
    value for an instance attribute)."""
    saved = vars(owner).get(name, _MISSING)
    setattr(owner, name, value)
    try:
        yield
    finally:
        if saved is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, saved)


async def _budget(app: Any, api_key: str, body: bytes, nik: str, args: argparse.Namespace) -> None:
    """Each part's cost as the median paired difference against the whole lookup."""
    services = app.state.services
    person = await services.registry.query_nik(nik)
    records: list[Any] = []
    real_append = services.policy.commits.append

    async def keep(kind: Any, data: Any) -> Any:
        records[:] = [await real_append(kind, data)]
        return records[0]

    async def canned_person(_nik: str) -> Any:
        return person

    async def canned_record(_kind: Any, _data: Any) -> Any:
        return records[0]

    hop = ThreadPoolExecutor(1, thread_name_prefix="bench-hop")

    async def canned_after_a_hop(_kind: Any, _data: Any) -> Any:
        await asyncio.wrap_future(hop.submit(int))  # to a thread and back, nothing done there
        return records[0]

    with _attribute(services.policy.commits, "append", keep):
        await _drive(app, api_key, body, 1, 1)

    @contextmanager
    def quiet() -> Iterator[None]:
        configure_logging("WARNING", json=True)
        try:
            yield
        finally:
            configure_logging("INFO", json=True)

    parts: dict[str, Any] = {
        "the Dukcapil client (aiohttp, parsing, mapping)": lambda: _attribute(
            services.registry, "query_nik", canned_person
        ),
        "the audit write (group commit, fsync)": lambda: _attribute(
            services.policy.commits, "append", canned_record
        ),
        "the request's log line": quiet,
        "the audit write, a bare thread hop left in its place": lambda: _attribute(
            services.policy.commits, "append", canned_after_a_hop
        ),
    }
    trail = services.policy.commits.trail
    if hasattr(trail, "fsync"):  # the file trail (the embedded default)
        parts["of which the fsync"] = lambda: _attribute(trail, "fsync", False)
    whole: list[float] = []
    without: dict[str, list[float]] = {name: [] for name in parts}
    floor: list[float] = []
    steps = ["whole", *parts, "floor"]
    try:
        for round_ in range(args.budget):
            for step in steps[round_ % len(steps) :] + steps[: round_ % len(steps)]:
                if step == "whole":
                    whole.append(await _drive(app, api_key, body, args.requests, args.concurrency))
                elif step == "floor":
                    floor.append(
                        await _drive(
                            app, api_key, b"", args.requests, args.concurrency, method="GET",
                            path="/v1/caller",
                        )
                    )  # fmt: skip
                else:
                    with parts[step]():
                        cost = await _drive(app, api_key, body, args.requests, args.concurrency)
                    without[step].append(cost)
    finally:
        hop.shutdown()
    replaced = "query_nik" in vars(services.registry) or "append" in vars(services.policy.commits)
    if replaced or getattr(trail, "fsync", True) is not True:
        raise RuntimeError("a part was not put back")  # the whole's figures would be wrong
    median = statistics.median
    print(f"budget: app CPU ms per request, medians of {args.budget} rounds, parts alternated")
    print(f"  NIK lookup, whole                                  {median(whole):.3f}")
    for name, costs in without.items():
        paired = median(w - c for w, c in zip(whole, costs, strict=True))
        print(f"  - {name:<48} {paired:.3f}")
    rest = median(whole) - median(floor)
    print(f"  GET /v1/caller (middleware, routing, authentication, log line) {median(floor):.3f}")
    print(f"  the lookup beyond that request                     {rest:.3f}")


async def _batches(app: Any, api_key: str, args: argparse.Namespace) -> list[float]:
    nik = load_population().by_key(PERSON).registry_record().nik
    body = json.dumps({**DEMO_ACCOUNTABILITY, "nik": nik}).encode()
    async with app.router.lifespan_context(app):
        await _drive(app, api_key, body, 200, args.concurrency)  # warm: imports, pools
        if args.budget:
            await _budget(app, api_key, body, nik, args)
            return []
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            await _drive(app, api_key, body, args.requests, args.concurrency)
            profiler.disable()
            stats = pstats.Stats(profiler, stream=sys.__stdout__)
            stats.sort_stats("tottime").print_stats(args.profile)
            stats.sort_stats("cumulative").print_stats(args.profile)
        return [
            await _drive(app, api_key, body, args.requests, args.concurrency)
            for _ in range(args.batches)
        ]


def run(args: argparse.Namespace) -> list[float]:
    """CPU ms per lookup of each batch."""
    with bench_stack(pcsc=False) as stack, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        api_key, clients_file = demo_client(work)
        port = urlsplit(stack.simulator_url).port
        assert port is not None  # noqa: S101 - the stack's own URL
        env = gateway_env(
            free_port(), port, stack.password, data_dir=work / "data", clients_file=clients_file
        )
        env.update({**UNLIMITED, **NO_PCSC, "KTP_GATEWAY_DUKCAPIL__MAX_CONCURRENCY": "64"})
        with _environment(env), open(os.devnull, "w") as sink:
            real, sys.stderr = sys.stderr, sink  # the log lines, as the gateway writes them
            try:
                configure_logging("INFO", json=True)
                settings = Settings()
                app = create_app(settings)  # as `local`: one process, the monitor off
                if settings.api.event_loop == "uvloop":  # the gateway's loop (its default)
                    return uvloop.run(_batches(app, api_key, args))
                return asyncio.run(_batches(app, api_key, args))
            finally:
                sys.stderr = real


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inproc", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="lookups per batch")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--profile", type=int, default=0, help="also print cProfile's top N")
    parser.add_argument("--budget", type=int, default=0, help="rounds of the per-part budget")
    args = parser.parse_args(argv)
    batches = run(args)
    if not batches:
        return 0
    spread = ", ".join(f"{b:.3f}" for b in batches)
    print(f"app CPU per NIK lookup: {statistics.median(batches):.3f} ms median ({spread})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
