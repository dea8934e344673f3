from __future__ import annotations

import pytest

from pipeline.billing.calls import call_region
from pipeline.billing.reconcile import Difference, counts_from_csv, counts_from_usage_json
from pipeline.errors import ConfigError


def test_console_csv_with_bom_and_other_column_names() -> None:
    text = ("\ufeffUsage Date,Enterprise Project ID,API Name,Usage\n"
            "2026-03-01 00:00:00,proj-a,general-text,4\n"
            "2026-03-01,proj-a,general-text,1\n"
            "2026-03-02,default,id-card,2\n")
    assert counts_from_csv(text, "x.csv") == {
        ("2026-03-01", "proj-a", "general-text"): 5, ("2026-03-02", "default", "id-card"): 2}


@pytest.mark.parametrize(("text", "says"), [
    ("Date,API,Calls\n", "no enterprise_project column"),
    ("Date,Enterprise Project,API,Calls\n2026-03-01,p,a,many\n", "line 2: calls is not"),
])
def test_bad_csv_says_what(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        counts_from_csv(text, "x.csv")


def test_usage_json_shape() -> None:
    body = {"usage": [{"date": "2026-03-01", "enterprise_project_id": "p", "api": "a",
                       "calls": 3}], "total_calls": 3}
    assert counts_from_usage_json(body) == {("2026-03-01", "p", "a"): 3}
    with pytest.raises(ConfigError, match="not the service's usage shape"):
        counts_from_usage_json({"rows": []})


@pytest.mark.parametrize(("ledger", "provider", "unknown", "explained"), [
    (3, 5, 2, True), (3, 6, 2, False), (3, 3, 2, True), (4, 3, 0, False)])
def test_explained_only_by_enough_unknown_calls(ledger: int, provider: int, unknown: int,
                                                explained: bool) -> None:
    diff = Difference("2026-03-01", "p", "a", ledger, provider, tuple(range(unknown)))
    assert diff.explained is explained


def test_region_of_a_call() -> None:
    assert call_region("ap-southeast-1", "https://x") == "ap-southeast-1"
    assert call_region(None, "https://ocr.cn-north-4.myhuaweicloud.com") == "cn-north-4"
    assert call_region(None, "embedded") is None
    assert call_region(None, "http://127.0.0.1:8080") is None
