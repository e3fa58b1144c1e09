"""The chaos soak across processes at the size CI runs (1,000 messages, 4 worker
processes, 4 of them killed with SIGKILL at random and replaced), with every kind of
fault injected by three sandbox providers; see benchmarks/soak_celery.py for every
check. ``scripts/soak --celery`` runs it at full size (5,000 messages, 10 kills)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root

import benchmarks.soak_celery as soak_engine
from benchmarks.soak_celery import run_celery_soak
from mailspec.sandbox import Fault

MESSAGES = 1000
KILLS = 4


def test_celery_chaos_soak_loses_nothing_and_sends_nothing_twice(capsys) -> None:
    report = run_celery_soak(MESSAGES, workers=4, kills=KILLS, seed=11)
    with capsys.disabled():
        print("\n" + "\n".join(report.lines()))
    assert report.violations == [], "\n".join(report.violations[:20])
    assert report.kills == KILLS and report.unfinished == 0
    assert report.sent + report.failed + report.ambiguous == MESSAGES  # one outcome each
    assert report.duplicates == 0 and report.lost == 0
    assert report.ambiguous_share < 0.005
    assert set(report.faults) == {fault.value for fault in Fault}  # every kind was injected
    assert report.requests > MESSAGES  # the faults made retries, and they were survived


def test_celery_soak_reconciliation_catches_a_second_copy(monkeypatch) -> None:
    """The reconciliation is not vacuous: a sandbox holding a second copy of a message,
    as a resend after a redelivery would leave, is reported."""
    real = soak_engine._reconcile

    def tampered(report, sandbox, outcomes, ledger, seed):
        first = next(iter(sandbox))  # where message 0 went: no faults, no failover
        copy = [a for a in first.accepted if a.recipient == "m0@soak.example.org"]
        first.emulator.accepted.extend(copy)  # as a second send of it would have left
        real(report, sandbox, outcomes, ledger, seed)

    monkeypatch.setattr(soak_engine, "_reconcile", tampered)
    report = run_celery_soak(30, workers=1, kills=0, rates={}, seed=3)
    assert any(v.startswith("message 0: held 2 times") for v in report.violations), (
        report.violations
    )
