"""Mixup mathematics: blended targets, coefficient distributions, ``off`` leaves batches alone."""

from __future__ import annotations

import pytest
import torch

from landbench.core.errors import ConfigError
from landbench.training.mixup import Mixup, mixup_batch


def _batch(n: int = 6, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    image = torch.randn(n, 4, size, size, generator=g)
    mask = (torch.rand(n, size, size, generator=g) > 0.7).long()
    return image, mask


@pytest.mark.parametrize("mode", ["uniform", "beta"])
@pytest.mark.parametrize("per_sample", [True, False])
def test_mixed_pairs_are_convex_combinations(mode: str, per_sample: bool) -> None:
    image, mask = _batch()
    torch.manual_seed(1)
    out = Mixup(mode, alpha=0.4, per_sample=per_sample)(image, mask)
    lam, perm = out.lam, out.perm
    assert sorted(perm.tolist()) == list(range(6))  # a permutation of the batch
    assert out.image.shape == image.shape and out.target.shape == mask.shape
    assert out.target.dtype == torch.float32
    lam_i = lam.view(-1, 1, 1, 1)
    lam_t = lam.view(-1, 1, 1)
    torch.testing.assert_close(out.image, lam_i * image + (1 - lam_i) * image[perm])
    torch.testing.assert_close(out.target, lam_t * mask.float() + (1 - lam_t) * mask[perm].float())
    assert out.target.min() >= 0 and out.target.max() <= 1
    if not per_sample:
        assert torch.all(lam == lam[0])
    # Soft targets appear where the pair disagrees and the coefficient is strictly inside (0, 1).
    disagree = mask != mask[perm]
    inside = (lam > 0) & (lam < 1)
    if (disagree & inside.view(-1, 1, 1)).any():
        soft = (out.target > 0) & (out.target < 1)
        assert soft.any()


def test_off_returns_the_batch_untouched() -> None:
    image, mask = _batch()
    state = torch.get_rng_state()
    out = Mixup("off")(image, mask)
    assert out.image is image
    torch.testing.assert_close(out.target, mask.float(), rtol=0, atol=0)
    assert torch.equal(out.lam, torch.ones(6)) and torch.equal(out.perm, torch.arange(6))
    assert torch.equal(torch.get_rng_state(), state)  # draws nothing either
    batch = {"image": image, "mask": mask, "id": list("abcdef")}
    mixed = mixup_batch(batch, Mixup("off"))
    assert mixed["image"] is image and mixed["id"] == batch["id"]
    assert batch["mask"] is mask  # the input dict is not modified


def test_single_sample_and_prob_zero_are_untouched() -> None:
    image, mask = _batch(n=1)
    assert Mixup("uniform")(image, mask).image is image
    image, mask = _batch()
    assert Mixup("uniform", p=0.0)(image, mask).image is image


def test_uniform_coefficients_follow_u01() -> None:
    torch.manual_seed(0)
    lam = Mixup("uniform").sample_lambda(20000)
    assert lam.min() >= 0 and lam.max() <= 1
    assert abs(lam.mean().item() - 0.5) < 0.01
    assert abs(lam.var().item() - 1 / 12) < 0.005
    # Kolmogorov-Smirnov distance to U[0, 1]: 1.63 / sqrt(n) is the 1% critical value.
    ecdf = torch.arange(1, 20001) / 20000
    assert (lam.sort().values - ecdf).abs().max() < 1.63 / 20000**0.5


@pytest.mark.parametrize("alpha", [0.2, 0.4, 2.0])
def test_beta_coefficients_follow_beta(alpha: float) -> None:
    torch.manual_seed(0)
    lam = Mixup("beta", alpha=alpha).sample_lambda(20000)
    assert lam.min() >= 0 and lam.max() <= 1
    expected_var = 1 / (4 * (2 * alpha + 1))  # variance of Beta(a, a)
    assert abs(lam.mean().item() - 0.5) < 0.01
    assert abs(lam.var().item() - expected_var) < 0.1 * expected_var
    if alpha < 1:  # U-shaped: mass near the ends
        assert ((lam < 0.1) | (lam > 0.9)).float().mean() > 0.4


def test_draws_follow_torch_seed() -> None:
    image, mask = _batch()
    mix = Mixup("uniform")
    torch.manual_seed(3)
    a = mix(image, mask)
    torch.manual_seed(3)
    b = mix(image, mask)
    assert torch.equal(a.image, b.image) and torch.equal(a.perm, b.perm)


@pytest.mark.parametrize(
    "kwargs", [{"mode": "cutmix"}, {"mode": "beta", "alpha": 0.0}, {"p": 1.5}, {"p": -0.1}]
)
def test_invalid_settings_are_refused(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        Mixup(**kwargs)


def test_partners_are_a_uniformly_random_permutation() -> None:
    """Every permutation of a batch is equally likely: not each sample with its neighbour."""
    from itertools import permutations

    from scipy.stats import chisquare

    image, mask = _batch(n=4, size=2)
    mix = Mixup("uniform")
    torch.manual_seed(0)
    draws = 4800
    seen = {p: 0 for p in permutations(range(4))}
    partner = torch.zeros(4, 4)
    for _ in range(draws):
        perm = mix(image, mask).perm
        seen[tuple(perm.tolist())] += 1
        partner[torch.arange(4), perm] += 1
    counts = list(seen.values())
    assert min(counts) > 0  # all 24 orders occur (a fixed pairing gives one)
    assert chisquare(counts).pvalue > 0.001
    # Each sample meets each partner (itself included) a quarter of the time.
    assert torch.allclose(partner / draws, torch.full((4, 4), 0.25), atol=0.03)


@pytest.mark.parametrize("p", [0.0, 0.3, 1.0])
def test_p_is_the_probability_of_mixing_a_batch(p: float) -> None:
    image, mask = _batch()
    mix = Mixup("uniform", p=p)
    torch.manual_seed(0)
    draws = 2000
    mixed = sum(not torch.equal(mix(image, mask).perm, torch.arange(6)) for _ in range(draws))
    # An identity permutation happens by chance (1/720) even in a mixed batch.
    expected = p * draws * (1 - 1 / 720)
    sd = (draws * p * (1 - p)) ** 0.5
    assert abs(mixed - expected) <= 4 * sd + 3
    assert mix.p == p and "p=" in repr(mix)


def test_p_one_mixes_every_batch_with_the_same_draws_as_always() -> None:
    """p = 1 (the paper's every batch) draws no extra number: the pairs under a seed stay put."""
    image, mask = _batch()
    torch.manual_seed(5)
    out = Mixup("uniform", p=1.0)(image, mask)
    torch.manual_seed(5)
    perm = torch.randperm(6)
    lam = torch.rand(6)
    assert torch.equal(out.perm, perm) and torch.equal(out.lam, lam)


def test_mixed_batches_keep_padding_out_of_the_valid_mask() -> None:
    image, mask = _batch(n=4)
    valid = torch.ones(4, 8, 8, dtype=torch.bool)
    valid[0, 6:, :] = False  # sample 0 is padded at the bottom
    torch.manual_seed(0)
    out = mixup_batch({"image": image, "mask": mask, "valid": valid}, Mixup("uniform"))
    perm = out["mixup_perm"]
    assert torch.equal(out["valid"], valid & valid[perm])
    partner_of_0 = int((perm == 0).nonzero()[0])
    assert not out["valid"][partner_of_0, 6:].any()  # blended with padding: not a real pixel


# -- edges pinned by mutation testing (issue 14 item 13) ---------------------------------------


def test_mixup_batch_returns_the_mixed_batch_and_blends_valid_masks() -> None:
    """Every key the training step reads, for a draw where the padded sample has a partner."""
    image, mask = _batch(n=4)
    valid = torch.ones(4, 8, 8, dtype=torch.bool)
    valid[0, 6:, :] = False  # sample 0 is padded at the bottom
    torch.manual_seed(1)
    expected = Mixup("uniform")(image, mask)
    assert expected.perm.tolist() == [1, 3, 2, 0]  # sample 3 is blended with padded sample 0
    torch.manual_seed(1)
    out = mixup_batch({"image": image, "mask": mask, "valid": valid}, Mixup("uniform"))
    assert torch.equal(out["image"], expected.image)
    assert torch.equal(out["mask"], expected.target) and out["mask"].dtype == torch.float32
    assert torch.equal(out["mixup_lam"], expected.lam)
    assert torch.equal(out["mixup_perm"], expected.perm)
    assert torch.equal(out["valid"], valid & valid[expected.perm])
    assert not out["valid"][3, 6:].any() and out["valid"][3, :6].all()
    assert not out["valid"][0, 6:].any() and out["valid"][1:3].all()
    assert set(out) == {"image", "mask", "valid", "mixup_lam", "mixup_perm"}
    no_valid = mixup_batch({"image": image, "mask": mask}, Mixup("off"))
    assert "valid" not in no_valid


def test_off_draws_unit_coefficients() -> None:
    torch.manual_seed(0)
    assert torch.equal(Mixup("off").sample_lambda(5), torch.ones(5))


def test_targets_follow_the_image_dtype() -> None:
    """Soft targets in the images' float precision; float32 for integer images."""
    image, mask = _batch()
    torch.manual_seed(0)
    assert Mixup("uniform")(image.double(), mask).target.dtype == torch.float64
    assert Mixup("off")(image.double(), mask).target.dtype == torch.float64
    integer = Mixup("off")(image.to(torch.int16), mask)
    assert integer.target.dtype == torch.float32
    torch.testing.assert_close(integer.target, mask.float(), rtol=0, atol=0)


def test_draws_stay_on_the_batch_device() -> None:
    """Coefficients and partners live on the batch's device (``meta`` stands in for a GPU)."""
    image = torch.zeros(3, 2, 4, 4, device="meta")
    mask = torch.zeros(3, 4, 4, device="meta")
    assert Mixup("uniform").sample_lambda(3, device="meta").device.type == "meta"
    assert Mixup("off").sample_lambda(3, device="meta").device.type == "meta"
    for mix, batch in ((Mixup("off"), 3), (Mixup("uniform"), 1), (Mixup("uniform"), 3)):
        out = mix(image[:batch], mask[:batch])
        assert out.lam.device.type == "meta" and out.perm.device.type == "meta"


def test_defaults_are_the_papers() -> None:
    """``Mixup()``: the paper's U[0, 1] draw per pair on every batch; Beta(0.4, 0.4) if asked."""
    mix = Mixup()
    assert (mix.mode, mix.alpha, mix.p, mix.per_sample) == ("uniform", 0.4, 1.0, True)
    assert repr(mix) == "Mixup(mode='uniform', alpha=0.4, p=1.0, per_sample=True)"


def test_a_batch_of_two_is_mixed() -> None:
    """Two samples are enough to pair: over a few draws each is blended with the other."""
    image, mask = _batch(n=2)
    torch.manual_seed(0)
    perms = {tuple(Mixup("uniform")(image, mask).perm.tolist()) for _ in range(20)}
    assert perms == {(0, 1), (1, 0)}


def test_a_skipped_batch_is_returned_whole() -> None:
    """A batch that the ``p`` draw skips: the images, float masks, unit coefficients, identity."""
    image, mask = _batch()
    out = Mixup("uniform", p=0.0)(image, mask)
    assert out.image is image
    torch.testing.assert_close(out.target, mask.float(), rtol=0, atol=0)
    assert torch.equal(out.lam, torch.ones(6)) and torch.equal(out.perm, torch.arange(6))
