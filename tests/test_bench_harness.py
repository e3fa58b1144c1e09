"""The benchmark harness's own arithmetic (benchmarks/bench.py): what its verdicts mean."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repo root

from benchmarks.bench import Goal, interleaved, paired


def test_a_drift_that_moves_both_contenders_cancels_in_the_paired_ratio() -> None:
    # the machine's load triples during the run; within each round both feel it alike
    load = [1.0, 3.0, 1.2, 2.5, 1.1, 2.8, 1.4]
    fast = [100 * x for x in load]
    slow = [110 * x for x in load]
    ratio, low, high = paired(slow, fast)
    assert ratio == pytest.approx(1.1)
    assert low == pytest.approx(1.1) and high == pytest.approx(1.1)


def test_the_paired_ratio_is_the_median_round_with_its_quartiles() -> None:
    ratios = [1.0, 1.2, 0.9, 5.0, 1.1, 1.05, 0.95]  # one round hit by a stall
    ratio, low, high = paired(ratios, [1.0] * len(ratios))
    assert ratio == pytest.approx(1.05)  # the stall does not move the verdict
    assert low == pytest.approx(0.95) and high == pytest.approx(1.2)


def test_paired_samples_must_come_from_the_same_rounds() -> None:
    with pytest.raises(ValueError):
        paired([1.0, 2.0, 3.0], [1.0, 2.0])


def test_every_contender_runs_every_round_after_its_warmup() -> None:
    calls = {"a": 0, "b": 0}

    def count(name: str):
        return lambda: calls.__setitem__(name, calls[name] + 1)

    samples = interleaved({"a": count("a"), "b": count("b")}, rounds=5, batch=3, warmup=2)
    assert calls == {"a": 2 + 5 * 3, "b": 2 + 5 * 3}
    assert {name: len(s) for name, s in samples.items()} == {"a": 5, "b": 5}
    assert all(t >= 0 for s in samples.values() for t in s)


@pytest.mark.parametrize(
    "op, ratio, target, met",
    [
        ("<=", 1.15, 1.15, True),
        ("<=", 1.151, 1.15, False),
        (">=", 2.0, 2.0, True),
        (">=", 1.99, 2.0, False),
        ("<", 0.5, 0.5, False),
        ("<", 0.49, 0.5, True),
    ],
)
def test_a_goal_is_met_on_its_side_of_the_target(op, ratio, target, met) -> None:
    assert Goal("send", "x", ratio, op, target).met is met
