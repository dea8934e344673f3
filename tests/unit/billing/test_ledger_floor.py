"""How far back `ocrpipe db prune` keeps the ledger (pipeline/billing/ledger_floor.py)
and which cutoff its options name (pipeline/prune.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.billing.config import parse_billing
from pipeline.billing.ledger_floor import ledger_floor
from pipeline.errors import ConfigError
from pipeline.prune import cutoff_of

UTC = dt.UTC


def test_the_cutoff_goes_back_to_its_months_start_in_the_billing_zone() -> None:
    floor = ledger_floor(dt.datetime(2026, 3, 17, tzinfo=UTC), None)
    assert floor.cutoff == dt.datetime(2026, 3, 1, tzinfo=UTC) and "whole months" in str(
        floor.reason)
    shanghai = parse_billing('timezone = "Asia/Shanghai"\n')
    floor = ledger_floor(dt.datetime(2026, 3, 1, tzinfo=UTC), shanghai)
    # 2026-03-01 00:00 UTC is 08:00 in Shanghai: March there began 8 hours earlier
    assert floor.cutoff.astimezone(UTC) == dt.datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert ledger_floor(dt.datetime(2026, 3, 1, tzinfo=UTC), None).reason is None


def test_a_package_that_can_still_pay_keeps_the_ledger_from_its_month() -> None:
    billing = parse_billing(
        '[[package]]\nid = "a"\napi = "general-text"\nregion = "cn-north-4"\ncalls = 10\n'
        'effective = 2025-05-20\nexpires = 2026-05-19\ncreated = 2025-05-01\n'
        '[[package]]\nid = "spent"\napi = "general-text"\nregion = "cn-north-4"\ncalls = 10\n'
        'effective = 2024-01-01\nexpires = 2024-12-31\ncreated = 2024-01-01\n')
    floor = ledger_floor(dt.datetime(2026, 2, 1, tzinfo=UTC), billing)
    assert floor.cutoff == dt.datetime(2025, 5, 1, tzinfo=UTC)
    assert "package 'a'" in str(floor.reason)
    # once it expired before the cutoff, nothing later depends on its calls
    assert ledger_floor(dt.datetime(2026, 6, 1, tzinfo=UTC), billing).cutoff == \
        dt.datetime(2026, 6, 1, tzinfo=UTC)


def test_keep_months_counts_back_from_this_month() -> None:
    now = dt.datetime(2026, 2, 14, 9, tzinfo=UTC)
    assert cutoff_of(None, 0, now) == dt.datetime(2026, 2, 1, tzinfo=UTC)
    assert cutoff_of(None, 3, now) == dt.datetime(2025, 11, 1, tzinfo=UTC)
    assert cutoff_of(None, 14, now) == dt.datetime(2024, 12, 1, tzinfo=UTC)
    assert cutoff_of("2025-07-09", None) == dt.datetime(2025, 7, 9, tzinfo=UTC)
    with pytest.raises(ConfigError, match="one of them"):
        cutoff_of("2025-07-09", 3)
