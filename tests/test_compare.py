"""Paired bootstrap comparison (``landbench compare``) and Holm's correction, against hand work."""

from __future__ import annotations

import json
from fractions import Fraction as Fr
from pathlib import Path

import numpy as np
import pytest

from landbench.cli.main import main
from landbench.core.errors import ConfigError
from landbench.evaluation.compare import (
    bootstrap_p_value,
    compare,
    holm,
    paired_bootstrap,
    resample_weights,
    resampled_pooled_f1,
)
from landbench.evaluation.result import EvaluationResult

# Three images, per-image (tp, fp, fn) of two models.
A = np.array([[4, 0, 0], [1, 0, 1], [0, 2, 0]])
B = np.array([[2, 1, 1], [1, 0, 1], [1, 0, 0]])


def test_resamples_are_pinned() -> None:
    """The draw behind every landbench bootstrap, for 3 images, 4 resamples, seed 1."""
    expected = [[1, 2, 0], [0, 3, 0], [1, 1, 1], [2, 0, 1]]
    np.testing.assert_array_equal(resample_weights(3, 4, seed=1), expected)


def test_paired_bootstrap_matches_a_hand_computation() -> None:
    """Every number of a 4-resample comparison, worked out by hand with fractions.

    Full set: A tp5 fp2 fn1 -> F1 10/13; B tp4 fp1 fn2 -> 8/11; difference 6/143.
    Resample (1,2,0): A 12/14 = 6/7, B 8/12 = 2/3, d = 4/21.
    Resample (0,3,0): both tp3 fp0 fn3 -> 2/3, d = 0.
    Resample (1,1,1): the full set, d = 6/143.
    Resample (2,0,1): A 16/18 = 8/9, B 10/14 = 5/7, d = 11/63.
    Sorted d*: 0, 6/143, 11/63, 4/21. numpy's linear quantile at q sits at q * (4 - 1):
    2.5% -> 0.075 of the way from 0 to 6/143; 97.5% -> 11/63 + 0.925 * (4/21 - 11/63).
    p = 2 * min((1 + #{d* <= 0}) / 5, (1 + #{d* >= 0}) / 5) = 2 * min(2/5, 5/5) = 0.8.
    """
    result = paired_bootstrap([A], [B], n_resamples=4, seed=1)
    assert result.pooled.difference == pytest.approx(float(Fr(10, 13) - Fr(8, 11)), abs=1e-15)
    low = 0.075 * float(Fr(6, 143))
    high = float(Fr(11, 63) + Fr(925, 1000) * (Fr(4, 21) - Fr(11, 63)))
    assert result.pooled.ci_low == pytest.approx(low, abs=1e-15)
    assert result.pooled.ci_high == pytest.approx(high, abs=1e-15)
    assert result.pooled.p_value == pytest.approx(0.8, abs=1e-15)
    assert result.n_images == 3 and result.n_resamples == 4
    # A 90% interval is not a 95% one: 0.05 * 3 = 0.15 of the way.
    narrower = paired_bootstrap([A], [B], n_resamples=4, seed=1, confidence=0.90)
    assert narrower.pooled.ci_low == pytest.approx(0.15 * float(Fr(6, 143)), abs=1e-15)
    assert narrower.pooled.ci_low != pytest.approx(result.pooled.ci_low)
    # Swapping the models negates the difference and mirrors the interval; p is unchanged.
    swapped = paired_bootstrap([B], [A], n_resamples=4, seed=1)
    assert swapped.pooled.difference == pytest.approx(-result.pooled.difference)
    assert swapped.pooled.ci_low == pytest.approx(-high) and swapped.pooled.p_value == 0.8


def test_resampled_f1_and_seeds_match_loops() -> None:
    """The vectorised statistic equals explicit loops over the same resamples, per seed."""
    rng = np.random.default_rng(3)
    seeds_a = [rng.integers(0, 60, (25, 4)) for _ in range(3)]
    seeds_b = [rng.integers(0, 60, (25, 4)) for _ in range(3)]
    weights = resample_weights(25, 300, seed=9)

    def by_hand(counts: np.ndarray) -> np.ndarray:
        out = []
        for w in weights:
            tp, fp, fn = (counts[:, :3] * w[:, None]).sum(axis=0)
            out.append(2 * tp / (2 * tp + fp + fn))
        return np.array(out)

    hand_a = np.array([by_hand(c) for c in seeds_a])
    hand_b = np.array([by_hand(c) for c in seeds_b])
    np.testing.assert_allclose(resampled_pooled_f1(np.stack(seeds_a), weights), hand_a, rtol=1e-12)
    result = paired_bootstrap(
        seeds_a, seeds_b, seeds_a=[2, 0, 1], seeds_b=[0, 1, 2], n_resamples=300, seed=9
    )
    # Pooled over seeds: mean over seeds of each side on the same resample, then the difference.
    d = hand_a.mean(0) - hand_b.mean(0)
    assert result.pooled.ci_low == pytest.approx(np.percentile(d, 2.5), abs=1e-12)
    assert result.pooled.ci_high == pytest.approx(np.percentile(d, 97.5), abs=1e-12)
    p = 2 * min((1 + np.sum(d <= 0)) / 301, (1 + np.sum(d >= 0)) / 301)
    assert result.pooled.p_value == pytest.approx(min(1.0, p), abs=1e-12)
    # Paired by seed value: A's seed 2 (index 0) with B's seed 2 (index 2).
    assert result.pairing == "seed"
    first = result.per_seed[0]
    assert first.seeds == {"a": [2], "b": [2]}
    d0 = hand_a[0] - hand_b[2]
    assert first.ci_low == pytest.approx(np.percentile(d0, 2.5), abs=1e-12)
    full = np.ones((1, 25))
    f1_a0 = resampled_pooled_f1(seeds_a[0], full)[0]
    f1_b2 = resampled_pooled_f1(seeds_b[2], full)[0]
    assert first.difference == pytest.approx(f1_a0 - f1_b2)
    # Unknown seed values pair by position; unequal counts leave only the pooled comparison.
    assert paired_bootstrap(seeds_a, seeds_b, n_resamples=10).pairing == "index"
    lonely = paired_bootstrap(seeds_a, seeds_b[:2], n_resamples=10)
    assert lonely.pairing == "none" and lonely.per_seed == []


def test_identical_models_are_not_different() -> None:
    result = paired_bootstrap([A], [A.copy()], n_resamples=200)
    assert result.pooled.difference == 0 and result.pooled.p_value == 1.0
    assert result.pooled.ci_low == result.pooled.ci_high == 0


def test_p_value_rule_and_floor() -> None:
    assert bootstrap_p_value(np.ones(99)) == pytest.approx(2 / 100)  # never 0
    assert bootstrap_p_value(np.array([-1.0, 1.0, 2.0, 3.0])) == pytest.approx(2 * 2 / 5)
    assert bootstrap_p_value(np.zeros(5)) == 1.0


def test_holm_matches_a_hand_computation() -> None:
    # sorted 0.01, 0.03, 0.04 -> 3 * 0.01 = 0.03, 2 * 0.03 = 0.06, max(0.06, 1 * 0.04) = 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([]) == []
    with pytest.raises(ConfigError):
        holm([1.5])


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ConfigError, match="same images"):
        paired_bootstrap([A], [B[:2]])
    with pytest.raises(ConfigError, match="at least one seed"):
        paired_bootstrap([], [B])
    with pytest.raises(ConfigError, match="confidence"):
        paired_bootstrap([A], [B], confidence=1.5)


# -- files and the command line ----------------------------------------------------------------


def _result(counts: np.ndarray, ids=("a", "b", "c"), manifest: str = "0" * 64) -> dict:
    per_image = np.column_stack([counts, np.full(len(counts), 100)])
    return EvaluationResult(
        dataset="synth",
        split="test",
        split_version="v1",
        manifest_sha256=manifest,
        ids=ids,
        per_image=per_image,
    ).to_dict()


def _run(folder: Path, counts: np.ndarray, seed: int, ids=("a", "b", "c")) -> Path:
    folder.mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"seed": seed}))
    (folder / "evaluation-synth-test.json").write_text(json.dumps(_result(counts, ids)))
    return folder


def test_compare_cli_json_on_result_files(tmp_path: Path, capsys) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_result(A)))
    b.write_text(json.dumps(_result(B)))
    assert main(["compare", str(a), str(b), "--json", "--n-resamples", "4", "--seed", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    expected = paired_bootstrap([A], [B], n_resamples=4, seed=1).pooled
    for key in ("difference", "ci_low", "ci_high", "p_value"):
        assert out[key] == pytest.approx(getattr(expected, key))
    assert out["n_images"] == 3 and out["seeds"] == {"a": [None], "b": [None]}
    assert out["bootstrap"]["confidence"] == 0.95
    assert main(["compare", str(a), str(b), "--n-resamples", "50"]) == 0
    assert "F1(A) - F1(B)" in capsys.readouterr().out


def test_compare_run_folders_pairs_seeds_and_aligns_images(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a_counts = [rng.integers(0, 30, (3, 3)) for _ in range(2)]
    b_counts = [rng.integers(0, 30, (3, 3)) for _ in range(2)]
    _run(tmp_path / "A" / "s0", a_counts[0], seed=0)
    _run(tmp_path / "A" / "s1", a_counts[1], seed=1)
    # B's folders are in the other order and list the images in another order.
    order = [2, 0, 1]
    ids = tuple(np.array(["a", "b", "c"])[order])
    _run(tmp_path / "B" / "x", b_counts[1][order], seed=1, ids=ids)
    _run(tmp_path / "B" / "y", b_counts[0][order], seed=0, ids=ids)
    result = compare(tmp_path / "A", tmp_path / "B", n_resamples=100)
    expected = paired_bootstrap(a_counts, b_counts, [0, 1], [0, 1], n_resamples=100)
    assert result.pairing == "seed"
    assert result.pooled.difference == pytest.approx(expected.pooled.difference)
    assert result.pooled.ci_low == pytest.approx(expected.pooled.ci_low)
    assert [d.difference for d in result.per_seed] == pytest.approx(
        [d.difference for d in expected.per_seed]
    )
    # A single run folder is one seed.
    assert compare(tmp_path / "A" / "s0", tmp_path / "B" / "y", n_resamples=10).n_images == 3


def test_compare_refuses_different_images(tmp_path: Path, capsys) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_result(A)))
    b.write_text(json.dumps(_result(B, manifest="1" * 64)))
    assert main(["compare", str(a), str(b)]) == 2
    assert "same images" in capsys.readouterr().err
    b.write_text(json.dumps(_result(B, ids=("a", "b", "z"))))
    assert main(["compare", str(a), str(b)]) == 2
    assert "other images" in capsys.readouterr().err
    assert main(["compare", str(a), str(tmp_path / "nothing")]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(a), str(tmp_path / "empty")]) == 2
    assert "landbench evaluate" in capsys.readouterr().err


def test_compare_reads_leaderboard_results_v1_and_v2(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    a_counts = [rng.integers(0, 30, (3, 3)) for _ in range(2)]
    v2 = {"results": {"synth": {"seeds": [
        {"seed": s, "evaluation": _result(c)} for s, c in zip((7, 8), a_counts)
    ]}}}  # fmt: skip
    v1 = {"results": {"synth": {"evaluation": _result(B)}}}
    (tmp_path / "a.json").write_text(json.dumps(v2))
    (tmp_path / "b.json").write_text(json.dumps(v1))
    result = compare(tmp_path / "a.json", tmp_path / "b.json", n_resamples=50)
    expected = paired_bootstrap(a_counts, [B], n_resamples=50)
    assert result.pooled.seeds == {"a": [7, 8], "b": [None]}
    assert result.pooled.difference == pytest.approx(expected.pooled.difference)
    assert result.pairing == "none"
    two = {"results": {"synth": v1["results"]["synth"], "hokkaido": v1["results"]["synth"]}}
    (tmp_path / "c.json").write_text(json.dumps(two))
    with pytest.raises(ConfigError, match="--dataset"):
        compare(tmp_path / "c.json", tmp_path / "b.json")
    assert compare(tmp_path / "c.json", tmp_path / "c.json", dataset="hokkaido", n_resamples=9)
