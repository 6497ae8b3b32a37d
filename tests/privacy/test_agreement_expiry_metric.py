"""The agreement's end as a timestamp: what an alert compares with `time()`."""

from __future__ import annotations

import datetime as dt

from prometheus_client import CollectorRegistry

from ktp_gateway.privacy.agreement import DEMO_AGREEMENT_FILE, AgreementGuard, load_agreement
from ktp_gateway.privacy.metrics import AgreementCollector, ends_at


def test_the_agreement_ends_at_local_midnight_after_its_last_day() -> None:
    last_day = dt.date(2027, 3, 31)
    ends = dt.datetime.fromtimestamp(ends_at(last_day))  # local time, as the guard's days
    assert ends == dt.datetime(2027, 4, 1, 0, 0)


def test_the_expiry_timestamp_agrees_with_days_remaining() -> None:
    agreement = load_agreement(DEMO_AGREEMENT_FILE)
    registry = CollectorRegistry()
    registry.register(AgreementCollector(AgreementGuard(agreement, None)))
    expiry = registry.get_sample_value("ktp_gateway_agreement_expiry_timestamp_seconds")
    days = registry.get_sample_value("ktp_gateway_agreement_days_remaining")
    assert expiry == ends_at(agreement.valid_until)
    start_of_today = dt.datetime.combine(dt.date.today(), dt.time()).astimezone().timestamp()
    assert days is not None and round((expiry - start_of_today) / 86400) == days
