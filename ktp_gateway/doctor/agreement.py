"""The agreement (PKS) the gateway serves under: it loads, is in force, and how long it lasts.

Renewing a PKS takes months of correspondence, so it warns well before the end (`--warn-days`).
"""

from __future__ import annotations

from ktp_gateway.doctor.context import Context
from ktp_gateway.doctor.model import Line, fail, ok, skip, warn
from ktp_gateway.errors import ConfigurationError, GatewayError
from ktp_gateway.privacy.agreement import (
    AgreementGuard,
    AgreementState,
    load_agreement,
    open_switch,
)

CHECK, TITLE = "agreement", "agreement"
RENEW_FIX = "start the renewal with Dukcapil now; install the new agreement file when signed"


def check_agreement(context: Context) -> list[Line]:
    """Agreement file valid, in force, not suspended; days left."""
    settings = context.settings
    if settings is None:
        return [skip(CHECK, TITLE, "the settings do not load")]
    path = settings.agreement.file
    if path is None:
        return [
            fail(
                CHECK,
                TITLE,
                "no agreement file is configured",
                "set KTP_GATEWAY_AGREEMENT__FILE to the PKS file (docs/agreement.md)",
            )
        ]
    try:
        agreement = load_agreement(path)
    except ConfigurationError as exc:
        return [fail(CHECK, TITLE, exc.detail, "correct the agreement file (docs/agreement.md)")]
    path = settings.agreement.suspension_file
    try:
        switch = open_switch(agreement, path, settings.shared.dsn())
        try:
            standing = AgreementGuard(agreement, path, switch=switch).standing()
        finally:
            switch.close()
    except GatewayError as exc:
        return [fail(CHECK, TITLE, exc.detail, "start PostgreSQL, or correct shared.postgres_dsn")]
    name = agreement.reference
    until = agreement.valid_until.isoformat()
    if standing.state is AgreementState.SUSPENDED:
        return [
            fail(
                CHECK,
                TITLE,
                f"{name} is suspended: {standing.reason}",
                "when the suspension is lifted: `ktp-gateway agreement resume`",
            )
        ]
    if standing.state is AgreementState.ENDED:
        return [fail(CHECK, TITLE, f"{name} ended on {until}", RENEW_FIX)]
    if standing.state is AgreementState.NOT_YET_VALID:
        begins = agreement.valid_from.isoformat()
        return [fail(CHECK, TITLE, f"{name} begins on {begins}", "wait, or check the file's dates")]
    summary = f"{name} in force until {until} ({standing.days_remaining} days left)"
    lines = []
    if standing.days_remaining <= context.options.warn_days:
        lines.append(warn(CHECK, TITLE, summary, RENEW_FIX))
    else:
        lines.append(ok(CHECK, TITLE, summary))
    if agreement.synthetic and not context.options.expect_virtual:
        lines.append(
            warn(
                CHECK,
                TITLE,
                "this is a synthetic (demo or test) agreement",
                "install the signed PKS file (KTP_GATEWAY_AGREEMENT__FILE); "
                "or pass --expect-virtual on a test machine",
            )
        )
    return lines
