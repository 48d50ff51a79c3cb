"""Training-step throughput of the fusion networks against smp's U-Net (ResNet-34), one run.

Every contender trains on the same input: a CPU batch of 8 tiles of 128 x 128 x 4 (R, G, B, DEM),
binary cross-entropy on a random mask, one AdamW step (zero_grad, forward, backward, step). The
peer is ``segmentation_models_pytorch.Unet(encoder_name="resnet34", encoder_weights=None,
in_channels=4, classes=1)``; the fusion networks use their default (``size="base"``) config.
Images per second and parameter counts go to ``extra_info`` and are printed.

Measure with::

    python -m pytest tests/benchmarks/test_bench_models.py --benchmark-enable -s

On a shared machine, measure CPU time of one thread, which other processes disturb far less than
wall time::

    OMP_NUM_THREADS=1 python -m pytest tests/benchmarks/test_bench_models.py --benchmark-enable \
        --benchmark-timer=time.process_time -s

Without ``--benchmark-enable`` (the default test run) each step runs once on a 2 x 32 x 32 batch,
so the file stays a quick smoke test. Training FLOPs per image (``torch.utils.flop_counter``,
deterministic, unlike wall time on a shared machine) are checked against the 1.5x budget.
"""

from __future__ import annotations

import pytest
import segmentation_models_pytorch as smp
import torch
from torch.utils.flop_counter import FlopCounterMode

from landbench.models import create_model

GROUP = "train-step-cpu-128px-batch8"
PEER = "smp-unet-resnet34"
CONTENDERS = (PEER, "fusionnet-resunet", "fusionnet-unet", "fusionnet-vgg16")
#: The fusion network may cost at most this much per image relative to the peer.
BUDGET = 1.5


def _build(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if name == PEER:
        return smp.Unet(encoder_name="resnet34", encoder_weights=None, in_channels=4, classes=1)
    return create_model(name)


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("benchmark_enable")) or not config.getoption("benchmark_disable")


@pytest.fixture(scope="module")
def batch(request: pytest.FixtureRequest) -> tuple[torch.Tensor, torch.Tensor]:
    """The shared input: ``[8, 4, 128, 128]`` normalised bands and a ``[8, 1, 128, 128]`` mask."""
    n, side = (8, 128) if _enabled(request.config) else (2, 32)
    generator = torch.Generator().manual_seed(0)
    image = torch.randn(n, 4, side, side, generator=generator)
    mask = (torch.rand(n, 1, side, side, generator=generator) < 0.1).float()
    return image, mask


@pytest.mark.parametrize("name", CONTENDERS)
def test_train_step_throughput(benchmark, name: str, batch) -> None:
    image, mask = batch
    model = _build(name).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> float:
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(image), mask)
        loss.backward()
        optimizer.step()
        return loss.item()

    benchmark.group = GROUP
    loss = benchmark.pedantic(step, rounds=3, iterations=1, warmup_rounds=1)
    assert torch.isfinite(torch.tensor(loss))
    params = sum(p.numel() for p in model.parameters())
    benchmark.extra_info["parameters"] = params
    benchmark.extra_info["batch"] = list(image.shape)
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        images_per_s = image.shape[0] / stats.stats.mean
        benchmark.extra_info["images_per_s"] = round(images_per_s, 2)
        print(f"\n{name}: {params / 1e6:.2f} M parameters, {images_per_s:.2f} images/s")


def _train_flops(name: str, side: int = 128) -> int:
    """Forward + backward FLOPs per image, counted on the meta device (no computation)."""
    model = _build(name).to("meta").train()
    x = torch.randn(2, 4, side, side, device="meta")
    with FlopCounterMode(display=False) as counter:
        model(x).sum().backward()
    return counter.get_total_flops() // 2


def test_fusion_cost_within_budget_of_unet() -> None:
    """Training FLOPs per 128 px image of each default fusion net vs the peer (<= 1.5x)."""
    peer = _train_flops(PEER)
    for name in CONTENDERS[1:]:
        flops = _train_flops(name)
        ratio = flops / peer
        print(f"\n{name}: {flops / 1e9:.2f} GFLOP/img, {PEER}: {peer / 1e9:.2f} ({ratio:.2f}x)")
        assert ratio <= BUDGET, f"{name} costs {ratio:.2f}x the U-Net per image"
