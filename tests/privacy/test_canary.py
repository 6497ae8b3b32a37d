"""The canary proof, through the real stack: zero hits; and a leak put in on purpose is found.

pcscd, the virtual SAM and cards, the Dukcapil simulator and the gateway run as real processes
(ktp_gateway_dev/canary_run.py). The closing note prints with `pytest -s`.
"""

from __future__ import annotations

import base64
import datetime as dt
import sys
from collections.abc import Iterator

import pytest

from ktp_gateway.audit.render import to_csv, to_html, to_json
from ktp_gateway.audit.report import build_report, date_range
from ktp_gateway.audit.store import AuditTrail
from ktp_gateway_dev.canary import Place, make_canaries, needles_for, search
from ktp_gateway_dev.canary_run import CanaryReport, CanaryRun
from ktp_gateway_dev.commands import render_canary
from ktp_gateway_dev.stack.pcscd import PcscdService

LEAKY = (sys.executable, "-m", "tests.privacy.leaky_gateway", "serve")


@pytest.fixture
def run_canary(pcscd_service: PcscdService) -> Iterator[type[CanaryRun]]:
    runs: list[CanaryRun] = []

    class Tracked(CanaryRun):
        def __init__(self, **kwargs: object) -> None:
            super().__init__(**kwargs)  # type: ignore[arg-type]
            runs.append(self)

    yield Tracked
    for run in runs:
        run.cleanup()


@pytest.mark.pcsc
def test_no_canary_value_is_found_anywhere_the_gateway_could_write(
    run_canary: type[CanaryRun],
) -> None:
    run = run_canary(verifications_per_card=4)
    report: CanaryReport = run.run()
    summary = report.summary()
    print("\n" + render_canary(summary))
    assert not report.traffic.unexpected, report.traffic.unexpected
    assert report.result.hits == [], "\n".join(str(hit) for hit in report.result.hits)
    assert summary["verifications"] == 20 and summary["nik_lookups"] == 6
    assert summary["error_responses"] >= 15
    assert summary["places_searched"] == 12 and summary["values_searched"] >= 40
    assert summary["files_searched"] >= 5  # log, audit trail, head and lock, outbox database
    assert summary["gateway_core_dump_limit"] == "0 0"  # `serve` hardened the real process
    _report_from_the_run(run)


def _report_from_the_run(run: CanaryRun) -> None:
    """The semester report built from this run's audit trail: right counts, no canary in it."""
    today = dt.datetime.now(dt.UTC).date()
    trail = AuditTrail(run.layout.dir("data") / "audit")
    report = build_report(trail, date_range(today, today), agreement={"reference": "DEMO"})
    assert report.trail.intact and report.gateway_starts == 1
    assert report.card_reads == 20 and report.by_operation["verification"] == 23
    assert report.by_outcome["verified"] >= 4 and report.by_outcome["refused"] >= 2
    assert report.incidents.get("card_auth_failed") == 1 and "no_card" in report.incidents
    assert report.return_data.queued >= 4
    assert run.canaries is not None
    rendered = (("html", to_html(report)), ("csv", to_csv(report)), ("json", to_json(report)))
    place = Place("the report", texts=tuple((name, text.encode()) for name, text in rendered))
    assert search([place], run.canaries.needles()).hits == []


@pytest.mark.pcsc
def test_no_canary_value_is_found_at_the_desk_or_the_access_point(
    run_canary: type[CanaryRun],
) -> None:
    """Cards read by a desk agent process, verified by the access point: both processes' places
    are searched (the desk's working directory, HOME, TMPDIR, state directory and log)."""
    run = run_canary(verifications_per_card=2, desks=True)
    report: CanaryReport = run.run()
    summary = report.summary()
    print("\n" + render_canary(summary))
    assert not report.traffic.unexpected, report.traffic.unexpected
    assert report.result.hits == [], "\n".join(str(hit) for hit in report.result.hits)
    assert summary["verifications"] == 10
    assert summary["places_searched"] == 17
    desk_log = run.layout.desk_log.read_text(encoding="utf-8")
    assert "access_point_connected" in desk_log  # the desk ran, logged at DEBUG, and was searched


@pytest.mark.pcsc
def test_a_leak_put_in_on_purpose_is_found_and_its_place_named(
    run_canary: type[CanaryRun],
) -> None:
    report = run_canary(verifications_per_card=1, gateway=LEAKY).run()
    places = {hit.place for hit in report.result.hits}
    assert places >= {
        "gateway TMPDIR",
        "gateway working directory",
        "gateway log output (stdout and stderr)",
        "audit store",
        "/metrics",
        "error responses (status, headers, body)",
    }, places
    forms = {(hit.place, hit.form) for hit in report.result.hits}
    assert ("gateway log output (stdout and stderr)", "base64") in forms
    assert ("gateway working directory", "hex") in forms
    assert not report.passed


def test_every_encoding_of_a_value_is_found(tmp_path: object) -> None:
    canaries = make_canaries(tmp_path)  # type: ignore[arg-type]
    canary = canaries.canaries[0]
    name = canary.person.nama_lgkp.encode()
    photo = canary.person.photo_bytes()
    texts = {
        "plain": b"x" + name + b"y",
        "lower": name.lower(),
        "url": name.replace(b" ", b"%20"),
        "hex": name.hex().upper().encode(),
        "base64 of a longer buffer": base64.b64encode(b"ab" + photo + b"c"),
        "base64url": base64.urlsafe_b64encode(b"z" + name),
    }
    for what, text in texts.items():
        result = search([Place("test", texts=((what, text),))], canaries.needles())
        assert result.hits, what
    nothing = search(
        [Place("test", texts=(("masked", b"************" + canary.person.nik[-4:].encode()),))],
        needles_for(canary.values),
    )
    assert nothing.hits == []  # a masked NIK (last four digits) is not a leak
