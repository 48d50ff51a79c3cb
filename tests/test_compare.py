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


# -- pinned outputs and the remaining edges (mutation testing, issue 14 item 13) -------------------


def _hand_comparison(confidence: float = 0.9):
    """The 4-resample hand case of :func:`test_paired_bootstrap_matches_a_hand_computation`."""
    result = paired_bootstrap(
        [A], [B], seeds_a=[3], seeds_b=[3], n_resamples=4, seed=1, confidence=confidence
    )
    result.labels = {"a": "runs/a", "b": "runs/b"}
    return result


def test_comparison_json_is_pinned() -> None:
    """``landbench compare --json``: every key and value of the 90% hand case."""
    difference = float(Fr(10, 13) - Fr(8, 11))
    low = 0.15 * float(Fr(6, 143))
    high = float(Fr(11, 63) + Fr(85, 100) * (Fr(4, 21) - Fr(11, 63)))
    numbers = {"difference": difference, "ci_low": low, "ci_high": high, "p_value": 0.8}
    got = _hand_comparison().to_dict()
    assert got == {
        **{k: pytest.approx(v, abs=1e-15) for k, v in numbers.items()},
        "seeds": {"a": [3], "b": [3]},
        "n_images": 3,
        "per_seed": [
            {
                **{k: pytest.approx(v, abs=1e-15) for k, v in numbers.items()},
                "seeds": {"a": [3], "b": [3]},
            }
        ],
        "pairing": "seed",
        "statistic": "F1(A) - F1(B), landslide F1 pooled over all pixels of the split",
        "bootstrap": {
            "unit": "image (paired: the same draw for both models and every seed)",
            "method": "percentile",
            "p_value": "2 * min((1 + #{d* <= 0}) / (B + 1), (1 + #{d* >= 0}) / (B + 1))",
            "n_resamples": 4,
            "confidence": 0.9,
            "seed": 1,
        },
        "a": "runs/a",
        "b": "runs/b",
    }


def test_comparison_summary_is_pinned() -> None:
    """``landbench compare`` (no ``--json``): the summary lines of the 90% hand case."""
    assert _hand_comparison().format() == "\n".join([
        "F1(A) - F1(B), pooled F1, 90% paired bootstrap interval over 3 images "
        "(4 resamples, seed 1)",
        "A: runs/a",
        "B: runs/b",
        "pooled over seeds (A 1, B 1): +0.0420 [+0.0063, +0.1881] p=0.8",
        "seed 3 vs 3: +0.0420 [+0.0063, +0.1881] p=0.8",
    ])  # fmt: skip
    unlabelled = paired_bootstrap([A], [B], n_resamples=4, seed=1)
    lines = unlabelled.format(digits=2).splitlines()
    assert lines[0].startswith("F1(A) - F1(B), pooled F1, 95% paired bootstrap interval")
    assert lines[1:3] == ["A: A", "B: B"]
    assert lines[3] == "pooled over seeds (A 1, B 1): +0.04 [+0.00, +0.19] p=0.8"


def test_resampled_f1_shapes_and_empty_resamples() -> None:
    """``[B]`` for one seed, ``[S, B]`` for several; a resample without positives scores 0."""
    weights = resample_weights(3, 5, seed=0)
    assert resampled_pooled_f1(A, weights).shape == (5,)
    assert resampled_pooled_f1(np.stack([A, B]), weights).shape == (2, 5)
    # Image 0 holds every positive pixel: a resample without it has 2 tp + fp + fn = 0.
    empty = np.array([[3, 1, 1], [0, 0, 0], [0, 0, 0]])
    got = resampled_pooled_f1(empty, np.array([[0, 2, 1], [1, 1, 1], [0, 0, 3]]))
    assert got.tolist() == [0.0, pytest.approx(6 / 8), 0.0]


def test_confidence_bounds_and_count_columns_are_checked() -> None:
    with pytest.raises(ConfigError, match="confidence must be in"):
        paired_bootstrap([A], [B], confidence=0.0)
    with pytest.raises(ConfigError, match="confidence must be in"):
        paired_bootstrap([A], [B], confidence=1.0)
    # Two columns cannot hold tp, fp and fn.
    with pytest.raises(ConfigError, match="same images"):
        paired_bootstrap([A[:, :2]], [B[:, :2]])


def test_seeds_pair_by_value_only_when_both_sides_hold_the_same_distinct_seeds() -> None:
    rng = np.random.default_rng(5)
    two = [rng.integers(0, 30, (3, 3)) for _ in range(2)]
    # Known but different seed values: paired by position, not an error.
    other = paired_bootstrap(two, two[::-1], seeds_a=[0, 1], seeds_b=[5, 6], n_resamples=10)
    assert other.pairing == "index"
    assert [d.seeds for d in other.per_seed] == [
        {"a": [0], "b": [5]},
        {"a": [1], "b": [6]},
    ]
    # A repeated seed value cannot pair by value either.
    repeated = paired_bootstrap(two, two, seeds_a=[0, 0], seeds_b=[0, 0], n_resamples=10)
    assert repeated.pairing == "index"
    assert repeated.per_seed[1].seeds == {"a": [0], "b": [0]}
    assert repeated.per_seed[1].difference == 0


def test_holm_accepts_the_ends_of_the_unit_interval() -> None:
    assert holm([0.0, 1.0]) == [0.0, 1.0]
    with pytest.raises(ConfigError, match=r"p-values must lie in \[0, 1\], got \[-0.1\]"):
        holm([-0.1])
    with pytest.raises(ConfigError, match="p-values must lie in"):
        holm([float("nan")])


def test_compare_takes_scored_sides_and_labels_them(tmp_path: Path) -> None:
    """Sides given as :class:`Scored` are used as they are; labels are the paths read."""
    from landbench.evaluation.compare import Scored, read_scored

    (tmp_path / "a.json").write_text(json.dumps(_result(A)))
    (tmp_path / "b.json").write_text(json.dumps(_result(B)))
    side_a = read_scored(tmp_path / "a.json")
    assert side_a.label == str(tmp_path / "a.json") and side_a.seeds == [None]
    side_b = Scored("model b", [EvaluationResult.from_dict(_result(B))], [None])
    result = compare(side_a, side_b, n_resamples=4, seed=1)
    assert result.labels == {"a": str(tmp_path / "a.json"), "b": "model b"}
    assert result.to_dict()["a"] == str(tmp_path / "a.json")
    assert result.pooled.difference == pytest.approx(float(Fr(10, 13) - Fr(8, 11)))
    files = compare(tmp_path / "a.json", tmp_path / "b.json", n_resamples=4, seed=1)
    assert files.labels == {"a": str(tmp_path / "a.json"), "b": str(tmp_path / "b.json")}


def test_read_scored_run_folders(tmp_path: Path) -> None:
    """A run folder's test evaluation is read by default; several evaluations are refused."""
    from landbench.evaluation.compare import read_scored

    run = _run(tmp_path / "r", A, seed=4)
    scored = read_scored(run)
    assert scored.label == str(run) and scored.seeds == [4]
    parent = read_scored(tmp_path)
    assert parent.label == str(tmp_path) and parent.seeds == [4]
    (run / "evaluation-other-test.json").write_text(json.dumps(_result(B)))
    with pytest.raises(
        ConfigError,
        match=r"holds several test evaluations \(evaluation-other-test.json, "
        r"evaluation-synth-test.json\); give the result file to compare",
    ):
        read_scored(run)
    (run / "run.json").write_text("not json")
    (run / "evaluation-other-test.json").unlink()
    assert read_scored(run).seeds == [None]


def test_read_scored_refuses_what_is_not_a_result(tmp_path: Path) -> None:
    from landbench.core.errors import InvalidDataError
    from landbench.evaluation.compare import read_scored

    missing = tmp_path / "missing.json"
    with pytest.raises(ConfigError, match="missing.json does not exist; give a result JSON"):
        read_scored(missing)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InvalidDataError, match="Cannot read .*bad.json as JSON"):
        read_scored(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(InvalidDataError, match=r"bad.json is not a landbench result"):
        read_scored(bad)
    for results in ({}, [1], "x"):
        bad.write_text(json.dumps({"results": results}))
        with pytest.raises(InvalidDataError, match="bad.json is neither a landbench evaluation"):
            read_scored(bad)
    bad.write_text(json.dumps({"results": {"synth": {"notes": "no evaluation"}}}))
    with pytest.raises(InvalidDataError, match="bad.json lists no scored seed"):
        read_scored(bad)
    one = {"results": {"synth": {"evaluation": _result(A)}}}
    bad.write_text(json.dumps({"results": {**one["results"], "hokkaido": {}}}))
    with pytest.raises(ConfigError, match=r"several datasets \(synth, hokkaido\); pass --dataset"):
        read_scored(bad)
    with pytest.raises(
        ConfigError, match=r"bad.json has no result for dataset 'bijie' \(synth, hokkaido\)"
    ):
        read_scored(bad, dataset="bijie")
    bad.write_text(json.dumps(one))
    scored = read_scored(bad)
    assert scored.label == str(bad) and scored.seeds == [None] and len(scored.results) == 1


def test_compare_names_both_manifests_when_they_differ(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_result(A)))
    b.write_text(json.dumps(_result(B, manifest="1" * 64)))
    with pytest.raises(
        ConfigError,
        match=rf"b.json was scored on split manifest 1{{12}}\.\.\. but {a} on 0{{12}}\.\.\.: a "
        "paired comparison needs the same images",
    ):
        compare(a, b)
    b.write_text(json.dumps(_result(B, ids=("a", "b", "z"))))
    with pytest.raises(ConfigError, match=r"needs the same split \(same manifest\)"):
        compare(a, b)


def test_read_scored_folder_of_seed_files(tmp_path: Path) -> None:
    """The demo's ``results/<config>/seed-<k>.json``: one evaluation per seed, seed from the name;
    evaluations of another split are left out."""
    from landbench.evaluation.compare import read_scored

    folder = tmp_path / "results" / "synth-bijie-unet-rgb"
    folder.mkdir(parents=True)
    for seed, counts in ((0, A), (2, B)):
        (folder / f"seed-{seed}.json").write_text(json.dumps(_result(counts)))
    val = _result(A)
    val["split"] = "val"
    (folder / "seed-9.json").write_text(json.dumps(val))
    scored = read_scored(folder)
    assert scored.seeds == [0, 2]
    assert [r.per_image.tolist() for r in scored.results] == [
        EvaluationResult.from_dict(_result(c)).per_image.tolist() for c in (A, B)
    ]
    assert read_scored(folder, split="val").seeds == [9]
    with pytest.raises(ConfigError, match="no seed-<k>.json test evaluations"):
        read_scored(tmp_path / "results")
