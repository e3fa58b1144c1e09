"""Chaos soak: about 2,000 messages per policy from 8 threads through one
Mailer over three sandbox providers injecting rate limits, 5xx, slow answers past the
timeout, dropped connections before and after acceptance, and garbage, at random with
fixed seeds; then reconciled against what each sandbox holds. See benchmarks/soak.py
for every check; ``scripts/soak`` runs the same with 10,000+ messages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root

import benchmarks.soak as soak_engine
from benchmarks.soak import run_soak
from mailspec.sandbox import Fault

MESSAGES = 2000


@pytest.mark.parametrize("policy", ["stop", "failover"])
def test_chaos_soak_reconciles(policy, capsys) -> None:
    report = run_soak(MESSAGES, threads=8, on_ambiguous=policy, seed=7)
    with capsys.disabled():
        print("\n" + "\n".join(report.lines()))
    assert report.violations == [], "\n".join(report.violations[:20])
    assert report.unfinished_threads == 0
    assert report.sent + report.failed == MESSAGES  # exactly one outcome each
    assert report.lost == 0
    # the chaos did happen, and was survived: each kind of fault was injected, some
    # sends were retried and some failed over, and most messages got through
    injected = {f for per in report.faults.values() for f, n in per.items() if n}
    assert injected == {fault.value for fault in Fault}
    assert report.retried > 0 and report.failed_over > 0 and report.ambiguous_attempts > 0
    assert report.sent >= MESSAGES * 0.9
    if policy == "stop":
        assert report.duplicates == 0
        assert report.failed == report.failed_ambiguous  # only ambiguity stops a message
    else:
        # at-least-once: a duplicate may happen, and each traces to a reported ambiguous
        # attempt. How many is chance: an ambiguous attempt at a provider that
        # deduplicates is resolved by resending there, so only an ambiguous answer from
        # one that cannot (cloudmails) is failed over from, and some runs have none.
        assert report.duplicates == report.duplicates_explained
        assert report.duplicates <= report.ambiguous_attempts
        assert report.failed < MESSAGES * 0.02


def test_soak_reconciliation_catches_a_lie(monkeypatch) -> None:
    """The reconciliation is not vacuous: a sandbox that silently keeps a second copy of
    a message (as a resend to a second provider would) is reported."""
    real = soak_engine.reconcile

    def tampered(report, outcomes, held, mailer):
        first = soak_engine.soak_message(0).to[0]
        held[first] = [*held.get(first, []), "cloudmails"]  # a copy nobody accounts for
        real(report, outcomes, held, mailer)

    monkeypatch.setattr(soak_engine, "reconcile", tampered)
    report = soak_engine.run_soak(40, threads=2, rates={}, seed=1)
    assert report.sent == 40
    assert any("message 0: held by" in v for v in report.violations)
