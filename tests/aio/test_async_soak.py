"""The chaos soak through an AsyncMailer: 1,000 messages sent concurrently on one loop
over three sandbox providers injecting every kind of fault at random (fixed seeds),
reconciled against what each sandbox holds by benchmarks/soak.py's checks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root

from benchmarks.soak_async import run_async_soak

MESSAGES = 1000


@pytest.mark.parametrize("policy", ["stop", "failover"])
def test_async_chaos_soak_reconciles(policy, capsys) -> None:
    report = run_async_soak(MESSAGES, concurrency=32, on_ambiguous=policy, seed=11)
    with capsys.disabled():
        print("\n" + "\n".join(report.lines()))
    assert report.violations == [], "\n".join(report.violations[:20])
    assert report.sent + report.failed == MESSAGES
    assert report.lost == 0
    assert report.retried > 0 and report.failed_over > 0 and report.ambiguous_attempts > 0
    assert report.sent >= MESSAGES * 0.9
    if policy == "stop":
        assert report.duplicates == 0
        assert report.failed == report.failed_ambiguous  # only ambiguity stops a message
    else:
        assert report.duplicates == report.duplicates_explained
