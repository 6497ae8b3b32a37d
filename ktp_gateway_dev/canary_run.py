"""The canary run: many verifications with canary identities through the real stack, then a search
of every place the gateway could have written.

pcscd with the virtual readers, the virtual SAM and cards, the Dukcapil simulator (loading the
canary people) and the gateway each run for real. The gateway runs at DEBUG, the most verbose
level a production configuration allows, in directories of its own (working directory, HOME,
TMPDIR, data directory with the audit trail), so everything it writes can be found. The run
also provokes error responses with canary values in the request (refusals, malformed input,
clones, forged data, registry faults, a suspended agreement), then stops the gateway and
searches. The harness directory (canary people, photos, simulator and pcscd logs) belongs to
the card and the registry, not the gateway, and is left out of the search.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ktp_gateway.privacy.agreement import DEMO_AGREEMENT_FILE
from ktp_gateway_dev.canary import Canary, CanarySet, Place, SearchResult, make_canaries, search
from ktp_gateway_dev.demo import DEMO_CONSUMER_PATH, DEMO_USER_ID, demo_client, gateway_env
from ktp_gateway_dev.simulators.dukcapil.config import DEFAULT_RETURN_TOKEN
from ktp_gateway_dev.stack.desks import AccessPoint, Desk
from ktp_gateway_dev.stack.pcscd import PcscdService
from ktp_gateway_dev.stack.pki import ServerPki, dev_server_pki
from ktp_gateway_dev.stack.processes import ManagedProcess, free_port
from ktp_gateway_dev.stack.virtual import VirtualReaderPair

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
GATEWAY = (sys.executable, "-m", "ktp_gateway.cli", "serve")
OFFICER = "PETUGAS-KANARI-01"
PURPOSE = "perlindungan_saksi"
REGISTER = "REG/KANARI/2026/001"
DESK = "meja-kanari"
_LIMITS = ("CLIENT_PER_MINUTE", "CLIENT_BURST", "OFFICER_PER_MINUTE", "OFFICER_BURST")


@dataclass(frozen=True, slots=True)
class Layout:
    """Where one run keeps things: the gateway's own directories, and the harness's."""

    root: Path

    @property
    def harness(self) -> Path:
        return self.root / "harness"

    @property
    def gateway(self) -> Path:
        return self.root / "gateway"

    def dir(self, name: str) -> Path:
        return self.gateway / name

    @property
    def log(self) -> Path:
        return self.gateway / "gateway.log"

    def desk_dir(self, name: str) -> Path:
        """The desk agent's own directories (a desk run): cwd, home, tmp, and its state dir."""
        return self.root / "desk" / name

    @property
    def desk_log(self) -> Path:
        return self.root / "desk" / "desk.log"

    def create(self) -> None:
        for path in (self.harness, *(self.dir(n) for n in ("cwd", "home", "tmp", "data"))):
            path.mkdir(parents=True, exist_ok=True)
        for name in ("cwd", "home", "tmp"):
            self.desk_dir(name).mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def text(self) -> bytes:
        head = "".join(f"{k}: {v}\n" for k, v in self.headers.items()).encode()
        return head + b"\n" + self.body


def call(
    url: str,
    body: dict[str, Any] | None = None,
    *,
    api_key: str | None = None,
    timeout: float = 30,
    context: ssl.SSLContext | None = None,
) -> Answer:
    """One HTTP call to the gateway, as the case application makes it (HTTPS: `context`)."""
    headers = {"Content-Type": "application/json"}
    if api_key is not None:
        headers["Authorization"] = f"Bearer {api_key}"
    request = urllib.request.Request(  # noqa: S310 - loopback URL built here
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers=headers,
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            return Answer(int(response.status), dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        return Answer(int(error.code), dict(error.headers), error.read())


@dataclass(slots=True)
class Traffic:
    """What the run sent and what came back, by kind."""

    verifications: int = 0
    lookups: int = 0
    unexpected: list[str] = field(default_factory=list)
    errors: list[tuple[str, bytes]] = field(default_factory=list)  # (what, status+headers+body)
    surfaces: list[tuple[str, bytes]] = field(default_factory=list)  # /metrics, /openapi.json...
    core_limit: str | None = None  # the gateway process's core-dump limit ("0 0": none)

    def expect(self, what: str, answer: Answer, status: int) -> Answer:
        if answer.status != status:
            code = answer.json().get("code") if answer.body.startswith(b"{") else None
            self.unexpected.append(f"{what}: HTTP {answer.status} ({code}), expected {status}")
        if answer.status >= 400:
            self.errors.append((f"{what} -> {answer.status}", answer.text()))
        return answer


@dataclass(slots=True)
class CanaryReport:
    """The closing numbers: what was done, what was searched, what was found."""

    canaries: int
    traffic: Traffic
    result: SearchResult
    seconds: float
    root: Path

    @property
    def passed(self) -> bool:
        return not self.result.hits and not self.traffic.unexpected

    def summary(self) -> dict[str, Any]:
        result = self.result
        return {
            "passed": self.passed,
            "canary_identities": self.canaries,
            "verifications": self.traffic.verifications,
            "nik_lookups": self.traffic.lookups,
            "error_responses": len(self.traffic.errors),
            "values_searched": result.values,
            "needles_searched": result.needles,
            "places_searched": len(result.places),
            "places": result.places,
            "files_searched": result.files,
            "texts_searched": result.texts,
            "bytes_searched": result.bytes,
            "hits": [str(hit) for hit in result.hits],
            "unexpected_answers": self.traffic.unexpected,
            "gateway_core_dump_limit": self.traffic.core_limit,
            "seconds": round(self.seconds, 1),
        }


def _accountable(**extra: Any) -> dict[str, Any]:
    return {"officer_id": OFFICER, "purpose": PURPOSE, "nomor_register": REGISTER, **extra}


def _core_limit(pid: int) -> str | None:
    """Soft and hard core-dump limits of a running process, as /proc shows them."""
    try:
        limits = Path(f"/proc/{pid}/limits").read_text(encoding="ascii")
    except OSError:
        return None
    line = next((row for row in limits.splitlines() if row.startswith("Max core file size")), "")
    return " ".join(line.split()[4:6]) or None


def _case(n: int) -> dict[str, str]:
    """Every other verification carries the plenary decision number: its data balikan queues."""
    return {"nomor_sk_rapat_paripurna": "SK-KANARI/RP/2026"} if n % 2 else {}


class CanaryRun:
    """One run: start the stack, drive it, stop it, search."""

    def __init__(
        self,
        *,
        verifications_per_card: int = 10,
        gateway: Sequence[str] = GATEWAY,
        extra_env: dict[str, str] | None = None,
        root: Path | None = None,
        desks: bool = False,
    ) -> None:
        self.per_card = verifications_per_card
        self.gateway_argv = list(gateway)
        self.extra_env = extra_env or {}
        self.layout = Layout(root or Path(tempfile.mkdtemp(prefix="ktp-canary-")))
        self.traffic = Traffic()
        self.password = secrets.token_urlsafe(16)
        self.reader: str | None = None
        self.api_key: str | None = None  # the case application's key, made per run
        self.canaries: CanarySet | None = None
        self.core_limit: str | None = None  # the running gateway's RLIMIT_CORE (proc limits)
        # With desks the gateway is an access point (HTTPS) and the card is read by a desk agent
        # process: every verification crosses both, and the desk's places are searched too.
        self.desks = desks
        self.pki: ServerPki | None = None
        self.context: ssl.SSLContext | None = None
        self.channel_port = free_port()

    def env(self, gateway_port: int, simulator_port: int) -> dict[str, str]:
        data = self.layout.dir("data")
        simulator = f"http://127.0.0.1:{simulator_port}"
        self.api_key, clients = demo_client(self.layout.harness)  # callers authenticated
        return {
            **gateway_env(gateway_port, simulator_port, self.password, clients_file=clients),
            "KTP_GATEWAY_AGREEMENT__FILE": str(DEMO_AGREEMENT_FILE),
            "KTP_GATEWAY_AGREEMENT__SUSPENSION_FILE": str(data / "agreement.suspended"),
            "KTP_GATEWAY_AUDIT__DIR": str(data / "audit"),
            "KTP_GATEWAY_LOG__LEVEL": "DEBUG",
            # one officer drives the whole run: the abuse limits would refuse it, not the policy
            **{f"KTP_GATEWAY_LIMITS__{key}": "100000" for key in _LIMITS},
            "KTP_GATEWAY_LOG__JSON_OUTPUT": "true",
            # the data balikan outbox, so its store is searched too
            "KTP_GATEWAY_RETURN_DATA__ENABLED": "true",
            "KTP_GATEWAY_RETURN_DATA__SQLITE_PATH": str(data / "return-outbox.sqlite3"),
            "KTP_GATEWAY_RETURN_DATA__ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
            "KTP_GATEWAY_RETURN_DATA__POLL_SECONDS": "0.2",
            "KTP_GATEWAY_DUKCAPIL__RETURNS__URL": f"{simulator}/dukcapil/data-balikan/store",
            "KTP_GATEWAY_DUKCAPIL__RETURNS__TOKEN": DEFAULT_RETURN_TOKEN,
            "KTP_GATEWAY_DUKCAPIL__RETURNS__ID_LEMBAGA": "LPSK-KANARI",
            "HOME": str(self.layout.dir("home")),
            "TMPDIR": str(self.layout.dir("tmp")),
            **self._access_point_env(),
            **self.extra_env,
        }

    def _access_point_env(self) -> dict[str, str]:
        if not self.desks:
            return {}
        self.pki = dev_server_pki(self.layout.harness / "pki")
        self.context = ssl.create_default_context(cafile=str(self.pki.ca))
        return {
            "KTP_GATEWAY_API__TLS_CERT_FILE": str(self.pki.cert),
            "KTP_GATEWAY_API__TLS_KEY_FILE": str(self.pki.key),
            "KTP_GATEWAY_DESKS__ENABLED": "true",
            "KTP_GATEWAY_DESKS__PORT": str(self.channel_port),
            "KTP_GATEWAY_DESKS__DIR": str(self.layout.dir("data") / "desks"),
        }

    def _desk(
        self, pair: VirtualReaderPair, gateway_env: dict[str, str], api: str
    ) -> tuple[Desk, AccessPoint]:
        """The desk agent for `pair`, enrolled through the real commands, at DEBUG."""
        desk = Desk(
            DESK,
            self.layout.desk_dir("dir"),
            [pair.card_reader],
            extra_env={
                "HOME": str(self.layout.desk_dir("home")),
                "TMPDIR": str(self.layout.desk_dir("tmp")),
                "PYTHONPATH": str(PACKAGE_ROOT),
                "KTP_GATEWAY_DESK_LOG__LEVEL": "DEBUG",
            },
            cwd=self.layout.desk_dir("cwd"),
        )
        assert self.pki is not None  # noqa: S101 - made with the access point's settings
        point = AccessPoint(
            env=gateway_env,
            api_port=int(api.rsplit(":", 1)[1]),
            channel_port=self.channel_port,
            pki=self.pki,
            api_key=self.api_key,
        )
        desk.enrol(point, os.environ)
        return desk, point

    @contextlib.contextmanager
    def _stack(self, canaries: CanarySet) -> Iterator[tuple[VirtualReaderPair, str, str]]:
        harness = self.layout.harness
        simulator_port, gateway_port = free_port(), free_port()
        with contextlib.ExitStack() as stack:
            stack.enter_context(PcscdService(log_path=harness / "pcscd.log"))
            pair = stack.enter_context(VirtualReaderPair())
            self.reader = pair.card_reader
            stack.enter_context(
                ManagedProcess.python_module(
                    "Dukcapil simulator",
                    "ktp_gateway_dev.simulators.dukcapil",
                    "--port",
                    str(simulator_port),
                    "--consumer-path",
                    DEMO_CONSUMER_PATH,
                    "--people",
                    str(canaries.people_file),
                    ready_url=f"http://127.0.0.1:{simulator_port}/_simulator/stats",
                    env={
                        "DUKCAPIL_SIM_USER_ID": DEMO_USER_ID,
                        "DUKCAPIL_SIM_PASSWORD": self.password,
                    },
                    log_path=harness / "simulator.log",
                )
            )
            env = {**self.env(gateway_port, simulator_port), "PYTHONPATH": str(PACKAGE_ROOT)}
            api = f"{'https' if self.desks else 'http'}://127.0.0.1:{gateway_port}"
            gateway = ManagedProcess(
                "gateway",
                self.gateway_argv,
                ready_url=f"{api}/healthz",
                ready_context=self.context,
                env=env,
                log_path=self.layout.log,
                cwd=self.layout.dir("cwd"),
            )  # fmt: skip
            with gateway:
                assert gateway.process is not None  # noqa: S101 - started by the `with`
                self.core_limit = _core_limit(gateway.process.pid)
                if self.desks:
                    desk, point = self._desk(pair, env, api)
                    stack.enter_context(desk.process(point, os.environ, self.layout.desk_log))
                yield pair, api, f"http://127.0.0.1:{simulator_port}"

    def run(self) -> CanaryReport:
        """Drive the stack with the canaries, stop it, search; the report says what was found."""
        started = time.time()
        self.layout.create()
        canaries = self.canaries = make_canaries(self.layout.harness)
        with self._stack(canaries) as (pair, url, simulator):
            self._verify_cards(pair, url, canaries)
            self._lookups(url, canaries)
            self._refusals(url, canaries)
            self._forgeries(pair, url, canaries)
            self._registry_faults(url, simulator, canaries)
            self._suspension(url, canaries)
            self._surfaces(url)
        result = search(self.places(started - 1), canaries.needles())
        self.traffic.core_limit = self.core_limit
        return CanaryReport(len(canaries.canaries), self.traffic, result, time.time() - started,
                            self.layout.root)  # fmt: skip

    def _call(self, url: str, body: dict[str, Any] | None = None) -> Answer:
        return call(url, body, api_key=self.api_key, context=self.context)

    def _tap(self, **body: Any) -> dict[str, Any]:
        at_desk = {"desk": DESK} if self.desks else {}
        return _accountable(reader=self.reader, **at_desk, **body)

    def _verify_cards(self, pair: VirtualReaderPair, url: str, canaries: CanarySet) -> None:
        for canary in canaries.canaries:
            if canary.person.card is None:
                continue
            pair.place(canary.person)
            for n in range(self.per_card):
                body = self._tap(wait_seconds=5, include_photo=n % 2 == 0, **_case(n))
                answer = self._call(f"{url}/v1/verifications", body)
                self.traffic.expect(f"verification {canary.key}", answer, 200)
                self.traffic.verifications += 1
            pair.remove()

    def _lookups(self, url: str, canaries: CanarySet) -> None:
        expected = {"active": 200, "absent": 404, "blocked": 409, "deceased": 410}
        for canary in canaries.canaries:
            # The registry's face photo and KK members too: every kind of data the gateway releases.
            body = _accountable(nik=canary.person.nik, include_photo=True, include_family=True)
            answer = self._call(f"{url}/v1/nik-lookups", body)
            self.traffic.expect(
                f"lookup {canary.key}", answer, expected[canary.person.registry.status]
            )
            released = answer.json() if answer.status == 200 else {}
            if answer.status == 200 and not (released.get("photo") and released.get("family")):
                self.traffic.unexpected.append(f"lookup {canary.key}: no photo or family released")
            self.traffic.lookups += 1

    def _refusals(self, url: str, canaries: CanarySet) -> None:
        canary = canaries.by_status("active")
        nik, name = canary.person.nik, canary.person.nama_lgkp
        lookups = f"{url}/v1/nik-lookups"
        probes: list[tuple[str, dict[str, Any], int]] = [
            ("no officer or purpose", {"nik": nik}, 422),
            ("officer id is a NIK", _accountable(nik=nik, officer_id=nik), 422),
            ("purpose not in agreement", _accountable(nik=nik, purpose="penagihan_utang"), 403),
            ("unknown field with a name", _accountable(nik=nik, nama=name), 422),
            ("NIK as a number", _accountable(nik=int(nik)), 422),
            ("malformed NIK", _accountable(nik=nik[:-1] + "X"), 422),
            ("impossible NIK date", _accountable(nik=nik[:6] + "99" + nik[8:]), 422),
        ]
        for what, body, status in probes:
            self.traffic.expect(what, self._call(lookups, body), status)
        anonymous = call(lookups, _accountable(nik=nik), context=self.context)
        self.traffic.expect("no credentials", anonymous, 401)
        verification = {"wait_seconds": 0.1, "officer_id": name[:60].replace(" ", "-")}
        self.traffic.expect("verification without purpose", self._call(f"{url}/v1/verifications",
                                                                  verification), 422)  # fmt: skip

    def _forgeries(self, pair: VirtualReaderPair, url: str, canaries: CanarySet) -> None:
        canary = canaries.by_status("active")
        for what, variant, status in (
            ("cloned card", {"clone": True}, 422),
            ("forged signature", {"bad_signature": True}, 422),
        ):
            pair.place(canary.person, **variant)
            self.traffic.expect(
                what, self._call(f"{url}/v1/verifications", self._tap(wait_seconds=5)), status
            )
            pair.remove()
        self.traffic.expect(
            "no card", self._call(f"{url}/v1/verifications", self._tap(wait_seconds=0.2)), 409
        )

    def _registry_faults(self, url: str, simulator: str, canaries: CanarySet) -> None:
        nik = canaries.by_status("active").person.nik
        faults: list[tuple[dict[str, Any], int]] = [
            ({"mode": "html", "status": 200}, 502),
            ({"mode": "broken_json"}, 502),
            ({"mode": "http_500"}, 503),
        ]
        for fault, status in faults:
            call(f"{simulator}/_simulator/faults", {**fault, "count": 1})
            answer = self._call(f"{url}/v1/nik-lookups", _accountable(nik=nik))
            self.traffic.expect(f"registry fault {fault['mode']}", answer, status)

    def _suspension(self, url: str, canaries: CanarySet) -> None:
        flag = self.layout.dir("data") / "agreement.suspended"
        flag.write_text("canary run: suspension check\n", encoding="utf-8")
        try:
            nik = canaries.by_status("active").person.nik
            answer = self._call(f"{url}/v1/nik-lookups", _accountable(nik=nik))
            self.traffic.expect("suspended agreement", answer, 403)
        finally:
            flag.unlink()

    def _surfaces(self, url: str) -> None:
        paths = ["/metrics", "/openapi.json", "/healthz", "/v1/readers", "/v1/agreement"]
        for path in paths + (["/v1/desks"] if self.desks else []):
            answer = self._call(f"{url}{path}")
            self.traffic.surfaces.append((path, answer.text()))

    def places(self, since: float) -> list[Place]:
        """Every place the gateway could have written, named for the report."""
        layout, data = self.layout, self.layout.dir("data")
        traffic = self.traffic
        return [
            Place("gateway working directory", (layout.dir("cwd"),)),
            Place("gateway HOME", (layout.dir("home"),)),
            Place("gateway TMPDIR", (layout.dir("tmp"),)),
            Place("audit store", (data / "audit",)),
            Place("return-data store", tuple(p for p in data.glob("return*") if p.exists())),
            Place("gateway data directory", (data,), exclude=(data / "audit",)),
            Place("gateway log output (stdout and stderr)", (layout.log,)),
            Place("system temp directory (files changed during the run)",
                  (Path(tempfile.gettempdir()),), changed_since=since, exclude=(layout.root,)),
            Place("code checkout (files changed during the run)", (PACKAGE_ROOT,),
                  changed_since=since, exclude=(PACKAGE_ROOT / ".git",)),
            *self._desk_places(),
            Place("/metrics", texts=tuple(t for t in traffic.surfaces if t[0] == "/metrics")),
            Place("error responses (status, headers, body)", texts=tuple(traffic.errors)),
            Place("other API responses",
                  texts=tuple(t for t in traffic.surfaces if t[0] != "/metrics")),
        ]  # fmt: skip

    def _desk_places(self) -> list[Place]:
        if not self.desks:
            return []
        layout = self.layout
        return [
            Place("desk working directory", (layout.desk_dir("cwd"),)),
            Place("desk HOME", (layout.desk_dir("home"),)),
            Place("desk TMPDIR", (layout.desk_dir("tmp"),)),
            Place("desk state directory (key, certificate)", (layout.desk_dir("dir"),)),
            Place("desk log output (stdout and stderr)", (layout.desk_log,)),
        ]

    def cleanup(self) -> None:
        shutil.rmtree(self.layout.root, ignore_errors=True)


def canary_of(canaries: CanarySet, key: str) -> Canary:
    return next(c for c in canaries.canaries if c.key == key)
