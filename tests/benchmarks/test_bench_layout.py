"""One training step of zoo models with channels-last weights against the peer, NCHW weights.

``landbench.core.layout.channels_last`` is applied by the training task and the predictor; this
races one AdamW step (forward, BCE, backward, update) of a 16 x 4 x 64 x 64 batch on the tiny
presets in both layouts, and checks that both layouts compute the same loss and gradients.

Measure with::

    OMP_NUM_THREADS=1 python -m pytest tests/benchmarks/test_bench_layout.py --benchmark-enable

Without ``--benchmark-enable`` each step runs once, as a quick correctness test.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from landbench.core.layout import channels_last
from landbench.models import create_model

MODELS = ["fusionnet-resunet", "unet-rgbdem", "resunet-rgbdem"]


def _setup(
    name: str, layout: str
) -> tuple[nn.Module, torch.optim.Optimizer, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    model = create_model(name, size="tiny")
    if layout == "channels-last":
        channels_last(model)
    g = torch.Generator().manual_seed(1)
    image = torch.randn(16, 4, 64, 64, generator=g)
    target = (torch.rand(16, 1, 64, 64, generator=g) > 0.9).float()
    return model, torch.optim.AdamW(model.parameters(), lr=1e-3), image, target


def _step(
    model: nn.Module, optimizer: torch.optim.Optimizer, image: torch.Tensor, target: torch.Tensor
) -> float:
    optimizer.zero_grad()
    loss = nn.functional.binary_cross_entropy_with_logits(model(image), target)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def _first_step_grads(name: str, layout: str) -> tuple[float, list[torch.Tensor]]:
    model, optimizer, image, target = _setup(name, layout)
    loss = nn.functional.binary_cross_entropy_with_logits(model(image), target)
    loss.backward()
    return float(loss.detach()), [
        p.grad.contiguous() for p in model.parameters() if p.grad is not None
    ]


@pytest.mark.parametrize("name", MODELS)
def test_layouts_agree(name: str) -> None:
    """Both layouts give the same loss and gradients up to float32 summation order."""
    loss_a, grads_a = _first_step_grads(name, "nchw")
    loss_b, grads_b = _first_step_grads(name, "channels-last")
    assert loss_b == pytest.approx(loss_a, rel=1e-5)
    assert len(grads_a) == len(grads_b)
    for a, b in zip(grads_a, grads_b, strict=True):
        # Gradients through batch norm amplify float32 summation-order differences (the layouts
        # run different oneDNN kernels): measured up to 2.4% of a tensor's norm. A wrong layout or
        # transposed kernel would differ by its whole norm.
        assert float(torch.linalg.vector_norm(b - a)) <= 0.05 * float(torch.linalg.vector_norm(a))


def test_channels_last_keeps_parameters() -> None:
    """The optimiser's parameters stay the module's (converted in place), NHWC afterwards."""
    model = create_model("fusionnet-resunet", size="tiny")
    before = list(model.parameters())
    assert channels_last(model) is model
    assert all(a is b for a, b in zip(before, model.parameters(), strict=True))
    convs = [p for p in model.parameters() if p.dim() == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("layout", ["channels-last", "nchw"])
def test_bench_training_step(benchmark, name: str, layout: str) -> None:
    benchmark.group = f"train-step-{name}-16x4x64x64"
    model, optimizer, image, target = _setup(name, layout)
    loss = benchmark(_step, model, optimizer, image, target)
    assert loss == loss and loss > 0  # finite and positive: the step ran
