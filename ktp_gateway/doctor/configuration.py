"""The configuration: settings load, secret files owner-only, a safe bind, writable state,
return data (data balikan) wired, and the certificate files not expiring.

Run the doctor as the service user (`sudo -u ktp-gateway ...`): "readable" and "writable" are
asked for the user running it.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

from ktp_gateway.config import CONFIG_ENV, Settings
from ktp_gateway.doctor.context import Context
from ktp_gateway.doctor.model import Line, fail, ok, skip, warn
from ktp_gateway.errors import ConfigurationError, ErrorCode, GatewayError
from ktp_gateway.observability.certificates import certificate_files, earliest_expiry
from ktp_gateway.returns.backends import open_store
from ktp_gateway.returns.rotation import usage
from ktp_gateway.returns.sealing import Sealer
from ktp_gateway.returns.service import sealer_for
from ktp_gateway.returns.settings import Backend, ReturnDataSettings

SETTINGS_FIX = "correct the setting named (docs/configuration.md), then run the doctor again"
OWNER_ONLY_FIX = "chown ktp-gateway: {path} && chmod 600 {path}"


def check_settings(context: Context) -> list[Line]:
    """Whether the settings load as `serve` would load them."""
    source = os.environ.get(CONFIG_ENV)
    where = f"environment and {source}" if source else "environment (KTP_GATEWAY_*)"
    if context.settings is None:
        problem = context.settings_error or "unknown problem"
        return [fail("settings", "settings", f"do not load: {problem}", SETTINGS_FIX)]
    return [ok("settings", "settings", f"load from the {where}")]


def _secret_files(settings: Settings) -> list[tuple[str, Path, bool]]:
    """(what, path, strict): strict files are refused by the gateway when group-readable."""
    dukcapil, returns = settings.dukcapil, settings.return_data
    named: list[tuple[str, Path | None, bool]] = [
        ("Dukcapil user ID", dukcapil.user_id_file, True),
        ("Dukcapil password", dukcapil.password_file, True),
        ("return-data token", dukcapil.returns.token_file, True),
        ("outbox sealing key", returns.encryption_key_file, True),
        *(("previous sealing key", path, True) for path in returns.previous_encryption_key_files),
        ("clients file", settings.auth.clients_file, False),
        ("API TLS key", settings.api.tls_key_file, False),
        *(("activation record", path, True) for path in settings.activation.record_files),
    ]
    config = os.environ.get(CONFIG_ENV)
    if config:
        named.append(("config file", Path(config), False))
    return [(what, path, strict) for what, path, strict in named if path is not None]


def _secret_problem(what: str, path: Path, strict: bool) -> Line | None:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        return fail("secrets", "secret files", f"{what} {path}: {exc.strerror}", "create it")
    fix = OWNER_ONLY_FIX.format(path=path)
    if not os.access(path, os.R_OK):
        return fail(
            "secrets",
            "secret files",
            f"{what} {path} is not readable by this user",
            "run the doctor as the service user: sudo -u ktp-gateway ktp-gateway doctor",
        )
    if mode & stat.S_IRWXO:
        return fail("secrets", "secret files", f"{what} {path} is readable by others", fix)
    if mode & stat.S_IRWXG and strict:
        return fail("secrets", "secret files", f"{what} {path} is group-readable (refused)", fix)
    return None


def check_secrets(context: Context) -> list[Line]:
    """Secret files exist, are readable here and by nobody else."""
    if context.settings is None:
        return [skip("secrets", "secret files", "the settings do not load")]
    files = _secret_files(context.settings)
    problems = [p for what, path, s in files if (p := _secret_problem(what, path, s))]
    if problems:
        return problems
    if not files:
        return [ok("secrets", "secret files", "none configured (secrets from the environment)")]
    return [ok("secrets", "secret files", f"{len(files)} file(s), readable by their owner only")]


def check_bind(context: Context) -> list[Line]:
    """Where the API listens, and who may call it."""
    settings = context.settings
    if settings is None:
        return [skip("bind", "API bind", "the settings do not load")]
    api, auth = settings.api, settings.auth
    where = f"{api.host}:{api.port}"
    if not auth.enabled:
        return [
            warn(
                "bind",
                "API bind",
                f"{where}, loopback, without caller authentication: any local process may ask",
                "`ktp-gateway keys new` and KTP_GATEWAY_AUTH__CLIENTS_FILE (docs/api-access.md)",
            )
        ]
    how = "mutual TLS" if auth.client_ca_file else "API keys"
    scope = "loopback only" if api.is_loopback() else "network, over TLS"
    return [ok("bind", "API bind", f"{where} ({scope}), callers authenticated by {how}")]


def _writable(path: Path) -> str | None:
    """None if this user can write `path` (or create it); else why not."""
    target = path
    while not target.exists():
        if target.parent == target:
            return "no existing parent"
        target = target.parent
    if not os.access(target, os.W_OK):
        return f"{target} is not writable by this user"
    return None


def check_storage(context: Context) -> list[Line]:
    """The audit trail's directory and the SQLite outbox can be written; the PostgreSQL
    databases configured for shared state and the outbox answer."""
    settings = context.settings
    if settings is None:
        return [skip("storage", "storage", "the settings do not load")]
    databases = _databases(settings)
    shared = settings.shared.dsn() is not None
    places = [] if shared else [("audit trail", settings.audit.dir)]
    outbox = settings.return_data
    if outbox.enabled and outbox.backend is Backend.SQLITE:
        places += [
            ("outbox database", outbox.sqlite_path),
            ("its directory", outbox.sqlite_path.parent),
        ]
    problems = [
        fail(
            "storage",
            "storage",
            f"{what} {path}: {why}",
            f"create it for the service user: install -d -o ktp-gateway -m 700 {path.parent}",
        )
        for what, path in places
        if (why := _writable(path))
    ]
    problems += [
        fail("storage", "storage", f"{what}: {why}", "check the server, the DSN and its user")
        for what, why in databases
        if why
    ]
    where = [f"writable: {', '.join(f'{what} {path}' for what, path in places)}"] if places else []
    where += [f"{what} answers" for what, _ in databases]
    return problems or [ok("storage", "storage", "; ".join(where))]


def _databases(settings: Settings) -> list[tuple[str, str | None]]:
    """Each configured PostgreSQL database and why it does not answer (None: it does)."""
    found: list[tuple[str, str | None]] = []
    outbox = settings.return_data
    dsns = [
        ("shared state (audit trail, rate limits, suspension) in PostgreSQL", settings.shared.dsn())
    ]
    if outbox.enabled and outbox.backend is Backend.POSTGRES and outbox.postgres_dsn is not None:
        dsns.append(("outbox database in PostgreSQL", outbox.postgres_dsn.get_secret_value()))
    for what, dsn in dsns:
        if dsn is None:
            continue
        from ktp_gateway.postgres.database import Database  # psycopg only when configured

        try:
            Database(dsn, what="the database", code=ErrorCode.SHARED_STATE_UNAVAILABLE).ping()
        except GatewayError as exc:
            found.append((what, exc.detail))
        else:
            found.append((what, None))
    return found


def check_return_data(context: Context) -> list[Line]:
    """Data balikan: on, with Dukcapil's store URL, token and the sealing key."""
    check, title = "return_data", "return data"
    settings = context.settings
    if settings is None:
        return [skip(check, title, "the settings do not load")]
    outbox, wire = settings.return_data, settings.dukcapil.returns
    if not outbox.enabled:
        return [
            warn(
                check,
                title,
                "off: the agreement obliges the agency to send data balikan",
                "KTP_GATEWAY_RETURN_DATA__ENABLED=true with a sealing key and Dukcapil's store "
                "URL and token (docs/return-data.md)",
            )
        ]
    missing = [
        name
        for name, present in (
            ("KTP_GATEWAY_DUKCAPIL__RETURNS__URL", wire.url),
            (
                "KTP_GATEWAY_DUKCAPIL__RETURNS__TOKEN(_FILE)",
                wire.token.get_secret_value() or wire.token_file,
            ),
        )
        if not present
    ]
    if missing:
        return [
            fail(
                check,
                title,
                f"on, but not set: {', '.join(missing)}",
                "set them (docs/return-data.md)",
            )
        ]
    try:
        sealer = sealer_for(outbox)
    except (ConfigurationError, OSError) as exc:
        detail = exc.detail if isinstance(exc, GatewayError) else f"key file: {exc.strerror}"
        return [fail(check, title, detail, "a 32-byte random key, base64, in an owner-only file")]
    store = outbox.backend.value
    return [
        ok(check, title, f"on: outbox {store}, Dukcapil store {wire.url}"),
        *_sealing_keys(outbox, sealer),
    ]


def _sealing_keys(outbox: ReturnDataSettings, sealer: Sealer) -> list[Line]:
    """Queued items still under a previous key, or under a key no longer configured."""
    if outbox.backend is Backend.SQLITE and not outbox.sqlite_path.exists():
        return []  # nothing queued yet (and the doctor does not create the file)
    try:
        found = usage(open_store(outbox), sealer)
    except GatewayError as exc:
        return [fail("return_data", "return data", exc.detail, "check the outbox database")]
    if found.unopenable:
        summary = f"{found.unopenable} queued item(s) sealed under a key not configured"
        fix = "add the old key to previous_encryption_key_files (docs/return-data.md)"
        return [warn("return_data", "return data", summary, fix)]
    if found.previous:
        summary = f"{found.previous} queued item(s) still sealed under a previous key"
        fix = "ktp-gateway returns rekey, then remove the previous key (docs/return-data.md)"
        return [warn("return_data", "return data", summary, fix)]
    return []


# The doctor's words for the roles `certificate_files` names (the metric's label).
CERTIFICATE_ROLES = {
    "dukcapil_ca": "Dukcapil CA bundle",
    "api_server": "API certificate",
    "client_ca": "client CA",
}


def check_certificates(context: Context) -> list[Line]:
    """Certificate files in the settings: readable, not expiring soon (a bundle: its earliest)."""
    settings = context.settings
    if settings is None:
        return []
    lines = []
    now = dt.datetime.now(dt.UTC)
    for role, path in certificate_files(settings).items():
        what = CERTIFICATE_ROLES.get(role, role)
        try:
            expiry = earliest_expiry(path)
        except (OSError, ValueError) as exc:
            lines.append(
                fail(
                    "certificates",
                    "certificates",
                    f"{what} {path}: {type(exc).__name__}",
                    "install a readable PEM file",
                )
            )
            continue
        if expiry is None:
            lines.append(
                fail(
                    "certificates",
                    "certificates",
                    f"{what} {path} holds no certificate",
                    "install the PEM certificate",
                )
            )
            continue
        days = (expiry - now).total_seconds() / 86400
        summary = f"{what} expires {expiry:%Y-%m-%d} ({days:.0f} days)"
        if days < 0:
            lines.append(fail("certificates", "certificates", summary, f"renew {path} and restart"))
        elif days < context.options.warn_days:
            lines.append(warn("certificates", "certificates", summary, f"renew {path} before then"))
        else:
            lines.append(ok("certificates", "certificates", summary))
    return lines
