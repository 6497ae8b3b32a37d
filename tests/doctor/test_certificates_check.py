"""The doctor's certificates check: the files the metric watches, read by the same function."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ktp_gateway.config import Settings
from ktp_gateway.doctor.configuration import CERTIFICATE_ROLES, check_certificates
from ktp_gateway.doctor.context import Context, Options
from ktp_gateway.observability.certificates import certificate_files
from tests.observability.test_certificates import pem

NOW = dt.datetime.now(dt.UTC)


def _context(**files: Path) -> Context:
    settings = Settings.model_validate(
        {
            "dukcapil": {"ca_bundle": str(files["ca"])} if "ca" in files else {},
            "api": {"tls_cert_file": str(files["server"])} if "server" in files else {},
        }
    )
    return Context(Options(warn_days=30), settings, None)


def test_every_role_the_metric_watches_has_the_doctors_words() -> None:
    assert set(CERTIFICATE_ROLES) == {"dukcapil_ca", "api_server", "client_ca"}


def test_a_bundle_is_judged_by_its_earliest_certificate(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(pem("CA Contoh", NOW + dt.timedelta(days=400)))
    server = tmp_path / "server.pem"
    soon = NOW + dt.timedelta(days=10)
    server.write_bytes(pem("Lama Contoh", NOW + dt.timedelta(days=400)) + pem("Baru Contoh", soon))
    context = _context(ca=ca, server=server)
    assert context.settings is not None
    assert set(certificate_files(context.settings)) == {"dukcapil_ca", "api_server"}
    ca_line, server_line = check_certificates(context)
    assert ca_line.status == "ok" and ca_line.summary.startswith("Dukcapil CA bundle expires")
    assert server_line.status == "warn"
    assert server_line.summary.startswith(f"API certificate expires {soon:%Y-%m-%d}")


def test_expired_unreadable_and_certificate_free_files_fail(tmp_path: Path) -> None:
    expired = tmp_path / "expired.pem"
    expired.write_bytes(pem("CA Contoh", NOW - dt.timedelta(days=1)))
    empty = tmp_path / "server.pem"
    empty.write_text("nothing that expires\n")
    [line, no_certificate] = check_certificates(_context(ca=expired, server=empty))
    assert line.status == "fail" and line.fix == f"renew {expired} and restart"
    assert no_certificate.status == "fail" and "holds no certificate" in no_certificate.summary
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    [malformed] = check_certificates(_context(ca=junk))
    assert malformed.status == "fail" and "ValueError" in malformed.summary
