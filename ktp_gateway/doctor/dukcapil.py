"""Dukcapil: reachable, our login accepted, our clock right, its certificate and our transport.

One probe request (dukcapil_client/probe.py: a CALL_NIK with no NIK, which Dukcapil refuses as
"parameters incomplete" only after the login and the caller's IP passed) answers all four, so
no NIK is ever sent and nobody is looked up. The client's timeouts are cut to fit the doctor's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from urllib.parse import urlsplit

from cryptography import x509

from ktp_gateway.doctor.context import Context
from ktp_gateway.doctor.model import Line, fail, ok, skip, warn
from ktp_gateway.dukcapil_client.client import DukcapilClient
from ktp_gateway.dukcapil_client.probe import LoginProbe, LoginVerdict
from ktp_gateway.dukcapil_client.settings import DukcapilSettings
from ktp_gateway.errors import ConfigurationError, DukcapilError, ErrorCode

SKEW_WARN_SECONDS = 30.0
SKEW_FAIL_SECONDS = 300.0
HANG_FIX = "Dukcapil did not answer in time: check the network path (VPN, firewall) to it"
URL_FIX = (
    "check KTP_GATEWAY_DUKCAPIL__BASE_URL, __API_PATH, __CONSUMER_PATH and __CALL_NIK "
    "against Dukcapil's letter"
)
CLOCK_FIX = "set the clock right and keep it so: install and enable NTP (`apt install chrony`)"
_LOGIN_FIXES = {
    ErrorCode.DUKCAPIL_AUTH_FAILED: "check KTP_GATEWAY_DUKCAPIL__USER_ID and __PASSWORD (or "
    "their _FILE settings): Dukcapil rotates passwords",
    ErrorCode.DUKCAPIL_IP_NOT_ALLOWED: "ask Dukcapil to allow-list this gateway's address; "
    "KTP_GATEWAY_DUKCAPIL__IP_USER must be that address",
}


def _probe_settings(settings: DukcapilSettings, timeout: float) -> DukcapilSettings:
    # Leave room inside the step's timeout, so a black hole reads as Dukcapil's timeout.
    return settings.model_copy(
        update={
            "connect_timeout_seconds": min(settings.connect_timeout_seconds, timeout * 0.4),
            "read_timeout_seconds": min(settings.read_timeout_seconds, timeout * 0.4),
            "retries": 0,
        }
    )


async def _probe(settings: DukcapilSettings) -> LoginProbe:
    async with DukcapilClient(settings) as client:
        return await client.probe_login()


def _unreachable(exc: DukcapilError, url: str) -> Line:
    if exc.code is ErrorCode.DUKCAPIL_BAD_RESPONSE:
        return fail("dukcapil", "Dukcapil", f"{url}: {exc.detail}", URL_FIX)
    if "TLS" in exc.detail:
        fix = "check KTP_GATEWAY_DUKCAPIL__CA_BUNDLE / __TLS_PINS against Dukcapil's certificate"
    else:
        fix = "check the network path to Dukcapil (VPN, firewall, route) and the base URL"
    return fail("dukcapil", "Dukcapil", f"{url}: {exc.detail} [{exc.code.value}]", fix)


def _login(probe: LoginProbe) -> Line:
    check, title = "dukcapil_login", "Dukcapil login"
    if probe.verdict is LoginVerdict.ACCEPTED:
        return ok(check, title, "credentials and caller IP accepted (probe without a NIK)")
    if probe.verdict is LoginVerdict.LIMITED:
        return warn(
            check,
            title,
            f"login accepted, but queries are refused now: {probe.detail}",
            "wait for the daily reset or the allowed hours, or ask Dukcapil for more quota",
        )
    if probe.verdict is LoginVerdict.REFUSED:
        fix = _LOGIN_FIXES.get(
            probe.code or ErrorCode.DUKCAPIL_REJECTED,
            "contact Dukcapil: the agency's access is not active",
        )
        return fail(check, title, probe.detail, fix)
    return warn(
        check,
        title,
        f"an answer the message table does not place: {probe.detail}",
        "compare with the message table (docs/dukcapil-client.md) and report it",
    )


def _clock(probe: LoginProbe) -> Line:
    check, title = "clock", "clock"
    if probe.server_date is None:
        return warn(check, title, "Dukcapil sent no Date header: skew not measured", CLOCK_FIX)
    # The Date header is whole seconds, stamped while the request was in flight.
    now = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=probe.seconds / 2)
    skew = (now - probe.server_date).total_seconds()
    way = "ahead of" if skew >= 0 else "behind"
    summary = f"this clock is {abs(skew):.0f} s {way} Dukcapil's (its Date header, to 1 s)"
    if abs(skew) > SKEW_FAIL_SECONDS:
        return fail(check, title, summary, CLOCK_FIX)
    if abs(skew) > SKEW_WARN_SECONDS:
        return warn(check, title, summary, CLOCK_FIX)
    return ok(check, title, summary)


def _transport(settings: DukcapilSettings, probe: LoginProbe, warn_days: int) -> Line:
    check, title = "dukcapil_tls", "Dukcapil TLS"
    parts = urlsplit(settings.base_url)
    if parts.scheme == "http":
        if settings.allow_plain_http:
            return warn(
                check,
                title,
                "plain HTTP: NIKs and the password cross the network unencrypted",
                "use Dukcapil's HTTPS address with __CA_BUNDLE or __TLS_PINS",
            )
        return ok(check, title, "plain HTTP to loopback (a local simulator or tunnel)")
    if not settings.verify:
        return warn(
            check,
            title,
            "certificate verification is off (insecure_dev)",
            "pin Dukcapil's CA (__CA_BUNDLE) or key (__TLS_PINS) and unset __INSECURE_DEV",
        )
    trust = "pinned key matches" if settings.tls_pins else "certificate verified"
    if probe.peer_certificate is None:
        return ok(check, title, trust)
    expiry = x509.load_der_x509_certificate(probe.peer_certificate).not_valid_after_utc
    days = (expiry - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    summary = f"{trust}; its certificate expires {expiry:%Y-%m-%d} ({days:.0f} days)"
    if days < 0:
        return fail(check, title, summary, "Dukcapil's certificate has expired: tell Dukcapil")
    if days < warn_days:
        return warn(check, title, summary, "ask Dukcapil when it renews; a new key needs new pins")
    return ok(check, title, summary)


def check_dukcapil(context: Context) -> list[Line]:
    """One probe: reachability, login, clock skew, transport security."""
    later = [
        ("dukcapil_login", "Dukcapil login"),
        ("clock", "clock"),
        ("dukcapil_tls", "Dukcapil TLS"),
    ]
    if context.settings is None:
        return [skip("dukcapil", "Dukcapil", "the settings do not load")]
    settings = _probe_settings(context.settings.dukcapil, context.options.timeout)
    try:
        probe = asyncio.run(_probe(settings))
    except ConfigurationError as exc:
        line = fail(
            "dukcapil_login", "Dukcapil login", exc.detail, "configure it (docs/configuration.md)"
        )
        unasked = skip("dukcapil", "Dukcapil", "no credentials to ask with")
        return [unasked, line, *(skip(c, t, "no credentials") for c, t in later[1:])]
    except DukcapilError as exc:
        because = "Dukcapil did not answer"
        return [_unreachable(exc, settings.base_url), *(skip(c, t, because) for c, t in later)]
    reached = ok(
        "dukcapil",
        "Dukcapil",
        f"{settings.base_url} answered HTTP {probe.status} in {probe.seconds * 1000:.0f} ms",
    )
    transport = _transport(settings, probe, context.options.warn_days)
    return [reached, _login(probe), _clock(probe), transport]
