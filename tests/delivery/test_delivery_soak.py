"""The delivery soak (benchmarks/delivery_soak.py) at a reduced size: sender processes
killed with SIGKILL and replaced, webhooks posted shuffled and twice, two redelivering
processes at once (one killed mid-way); nothing to a suppressed address, nothing lost,
each redelivery once."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root

from benchmarks.delivery_soak import run


def test_the_delivery_soak_at_a_reduced_size() -> None:
    report = run(240, rounds=3, workers=2, seed=3)
    print("\n".join(report.lines()))
    assert report.ok(), report.lines()
    # the checks had something to check
    assert report.outcomes["suppressed"] > 0 and report.redelivered > 0
    assert report.workers_killed == 3 and report.redeliverers_killed == 3
