"""Rank groups: which entries the test split cannot tell apart from the best one.

The rule (docs/protocol.md, "Rank groups"): entries are ranked by mean pooled F1 over their
seeds. The leader forms group 1 with every entry whose paired difference to it is not
significant at :data:`ALPHA` after Holm's correction over the entries compared with it; the
entries left form group 2 around their own leader by the same rule, and so on.

The test is :func:`landbench.evaluation.compare.paired_bootstrap`'s pooled comparison, built
from the same pieces: one seeded draw of test images (:func:`resample_weights`) serves every
entry and every seed, pooled F1 is recomputed per seed from the stored per-image counts and
averaged over seeds on each resample, and the two-sided p-value of the resampled differences is
:func:`~landbench.evaluation.compare.bootstrap_p_value`. The draw is computed once per board (a
comparison with ``paired_bootstrap`` on two of its entries gives the same p-value), so a render
is deterministic and costs one matrix product per entry.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from landbench.evaluation.compare import (
    N_RESAMPLES,
    bootstrap_p_value,
    holm,
    resampled_pooled_f1,
)
from landbench.evaluation.metrics import resample_weights

ALPHA = 0.05
"""Family-wise significance level of one group's comparisons."""

SEED = 0
"""Seed of the resampling generator (as ``paired_bootstrap``'s default)."""


def resampled_mean_f1(seeds: Sequence[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Mean over seeds of pooled F1 on every resample.

    Args:
        seeds: one ``[n_images, k]`` array of per-image counts (tp, fp, fn first) per seed.
        weights: ``[n_resamples, n_images]`` from :func:`resample_weights`.

    Returns:
        float64 ``[n_resamples]``.
    """
    return resampled_pooled_f1(np.stack([np.asarray(s) for s in seeds]), weights).mean(axis=0)


def rank_groups(
    entries: Sequence[Sequence[np.ndarray]],
    alpha: float = ALPHA,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> list[int | None]:
    """Rank group of each entry (1 = shares the top group).

    Args:
        entries: in rank order, best first; each a list of per-seed ``[n_images, k]`` per-image
            counts (tp, fp, fn first) over the same images in the same order.
        alpha: family-wise significance level of each group's comparisons.
        n_resamples: bootstrap resamples.
        seed: seed of the resampling generator.

    Returns:
        One group number per entry; all None when the entries do not share their images.
    """
    if not entries:
        return []
    shapes = {np.shape(counts)[0] for seeds in entries for counts in seeds}
    if len(shapes) != 1 or any(not seeds for seeds in entries):
        return [None] * len(entries)
    weights = resample_weights(shapes.pop(), n_resamples, seed)
    boot = [resampled_mean_f1(seeds, weights) for seeds in entries]
    groups: list[int | None] = [None] * len(entries)
    remaining, group = list(range(len(entries))), 1
    while remaining:
        leader, rest = remaining[0], remaining[1:]
        adjusted = holm([bootstrap_p_value(boot[leader] - boot[i]) for i in rest])
        groups[leader] = group
        for i, p in zip(rest, adjusted):
            if p > alpha:
                groups[i] = group
        remaining = [i for i, p in zip(rest, adjusted) if p <= alpha]
        group += 1
    return groups
