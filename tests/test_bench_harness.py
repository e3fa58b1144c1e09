"""The benchmark harness's own arithmetic (benchmarks/bench.py): what its verdicts mean."""

from __future__ import annotations

import subprocess
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


def test_rounds_are_paired_by_index_not_by_rank() -> None:
    # numbers chosen so that pairing by round, pairing by rank (each list sorted) and
    # the ratio of the two medians all give different answers
    mine = [19.0, 4.0, 11.0, 1.0, 1.0]
    theirs = [1.0, 18.0, 1.0, 13.0, 7.0]
    ratio, _, _ = paired(mine, theirs)
    assert ratio == pytest.approx(
        4.0 / 18.0
    )  # round 2's ratio, the median of 19, 4/18, 11, 1/13, 1/7


def test_the_paired_ratio_is_the_median_round_with_its_quartiles() -> None:
    ratios = [1.0, 1.2, 0.9, 5.0, 1.1, 1.05, 0.95]  # one round hit by a stall
    ratio, low, high = paired(ratios, [1.0] * len(ratios))
    assert ratio == pytest.approx(1.05)  # the stall does not move the verdict
    assert low == pytest.approx(0.95) and high == pytest.approx(1.2)


def test_paired_samples_must_come_from_the_same_rounds() -> None:
    with pytest.raises(ValueError):
        paired([1.0, 2.0, 3.0], [1.0, 2.0])


def test_every_round_runs_one_batch_of_every_contender() -> None:
    calls: list[str] = []
    contenders = {name: (lambda name=name: calls.append(name)) for name in ("a", "b", "c")}
    samples = interleaved(contenders, rounds=5, batch=3, warmup=2)
    warmup, timed = calls[: 3 * 2], calls[3 * 2 :]
    assert sorted(warmup) == ["a", "a", "b", "b", "c", "c"]
    assert len(timed) == 5 * 3 * 3
    for r in range(5):  # a round is three whole batches, one per contender
        one_round = timed[r * 9 : (r + 1) * 9]
        batches = [one_round[i : i + 3] for i in range(0, 9, 3)]
        assert all(len(set(b)) == 1 for b in batches), one_round
        assert sorted(b[0] for b in batches) == ["a", "b", "c"]
    assert {name: len(s) for name, s in samples.items()} == {"a": 5, "b": 5, "c": 5}


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


def test_a_failing_case_is_reported_and_the_other_figures_are_kept(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks.bench import Report

    report = Report()

    def measured() -> None:
        report.add("decode", {"generated": [1e-6, 2e-6, 3e-6]})
        report.goal("decode", "json.loads / generated", 6.0, ">=", 5.0)

    def broken() -> None:
        report.add("codegen", {"generate --check": [0.3]})
        raise subprocess.CalledProcessError(1, ["mailspec"], stderr="differs: spec/schema.json\n")

    report.run("decode", measured)
    report.run("codegen", broken)
    report.run("import", measured)
    report.print()
    out = capsys.readouterr().out

    assert list(report.failed) == ["codegen"]
    assert "differs: spec/schema.json" in report.failed["codegen"]
    assert "FAILED case codegen" in out
    assert out.count("json.loads / generated") == 2  # both other runs printed
    assert "generate --check" in out  # the failing case's own figure up to the failure
    assert report.as_json()["failed"] == report.failed


def test_a_figure_for_information_has_no_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.bench import Report

    report = Report()
    samples = {"mailer": [1.3, 1.4, 1.2], "provider": [1.0, 1.0, 1.0]}
    report.info("send", "Mailer / Provider", samples, "mailer", "provider")
    report.ratio("send", "Mailer / Provider, as a goal", samples, "mailer", "provider", "<=", 1.15)
    report.print()
    lines = capsys.readouterr().out.splitlines()

    (info,) = [line for line in lines if "Mailer / Provider " in line and "goal" not in line]
    assert info.split()[-1] == "info" and "<=" not in info  # a figure: no target, no verdict
    (goal,) = [line for line in lines if "as a goal" in line]
    assert goal.split()[-1] == "MISSED"  # the same ratio, held to a target
    assert [g["met"] for g in report.as_json()["goals"]] == [None, False]
    assert report.goals[0].ratio == pytest.approx(1.3)
