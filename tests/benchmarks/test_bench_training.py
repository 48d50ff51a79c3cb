"""Per-step costs of the training recipe's own pieces against their library peers, one run.

* Validation metrics: the evaluator's confusion counts of the real pixels turned into F1, IoU,
  precision and recall by ``pooled_metrics`` (what :class:`LandslideSegmentationTask` does), against
  the peer, a torchmetrics ``MetricCollection`` of ``BinaryF1Score``, ``BinaryJaccardIndex``,
  ``BinaryPrecision`` and ``BinaryRecall`` (update + compute of a 4 x 256 x 256 batch with padding
  marked ``ignore_index``). Both must agree exactly.
* Loss: :class:`BCEDiceLoss` (forward + backward on 16 x 128 x 128 soft targets) against the peer
  ``torch.nn.BCEWithLogitsLoss`` + ``smp.losses.DiceLoss("binary")``.
* Mixup: :class:`Mixup` (``torch.lerp``) against the textbook ``lam * x + (1 - lam) * x[perm]``.

Measure with::

    python -m pytest tests/benchmarks/test_bench_training.py --benchmark-enable

Without ``--benchmark-enable`` each function runs once, as a quick correctness test.
"""

from __future__ import annotations

import pytest
import segmentation_models_pytorch as smp
import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import (
    BinaryF1Score,
    BinaryJaccardIndex,
    BinaryPrecision,
    BinaryRecall,
)

from landbench.evaluation.counts import confusion_counts
from landbench.evaluation.metrics import pooled_metrics
from landbench.training.losses import BCEDiceLoss
from landbench.training.mixup import Mixup


def _val_batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    probs = torch.rand(4, 256, 256, generator=g)
    target = (torch.rand(4, 256, 256, generator=g) > 0.9).long()
    target[:, 200:, :] = -1  # padding
    return probs, target


def _ours(probs: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    real = target != -1
    counts = confusion_counts((probs[real] > 0.5).numpy(), target[real].numpy())
    return {k: float(v) for k, v in pooled_metrics(counts).items()}


def _peer(probs: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    metrics = MetricCollection(
        {
            "f1": BinaryF1Score(ignore_index=-1),
            "iou": BinaryJaccardIndex(ignore_index=-1),
            "precision": BinaryPrecision(ignore_index=-1),
            "recall": BinaryRecall(ignore_index=-1),
        }
    )
    metrics.update(probs, target)
    return {k: float(v) for k, v in metrics.compute().items()}


@pytest.mark.benchmark(group="val-metrics-4x256x256")
@pytest.mark.parametrize("impl", ["landbench-counts", "torchmetrics-collection"])
def test_bench_val_metrics(benchmark, impl: str) -> None:
    probs, target = _val_batch()
    fn = _ours if impl == "landbench-counts" else _peer
    result = benchmark(fn, probs, target)
    expected = _peer(probs, target)
    assert result == pytest.approx(expected, abs=1e-6)


def _loss_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(16, 1, 128, 128, generator=g).requires_grad_()
    target = torch.rand(16, 128, 128, generator=g)  # soft targets, as Mixup makes
    return logits, target


@pytest.mark.benchmark(group="loss-fwd-bwd-16x128x128")
@pytest.mark.parametrize("impl", ["landbench-bce-dice", "torch-bce+smp-dice"])
def test_bench_loss(benchmark, impl: str) -> None:
    logits, target = _loss_inputs()
    if impl == "landbench-bce-dice":
        loss_fn = BCEDiceLoss()

        def step() -> torch.Tensor:
            loss = loss_fn(logits, target)
            loss.backward()
            return loss.detach()

    else:
        bce = torch.nn.BCEWithLogitsLoss()
        dice = smp.losses.DiceLoss("binary", from_logits=True, smooth=1.0)

        def step() -> torch.Tensor:
            loss = bce(logits[:, 0], target) + dice(logits, target[:, None])
            loss.backward()
            return loss.detach()

    loss = benchmark(step)
    assert torch.isfinite(loss)


@pytest.mark.benchmark(group="mixup-16x4x128x128")
@pytest.mark.parametrize("impl", ["landbench-lerp", "textbook"])
def test_bench_mixup(benchmark, impl: str) -> None:
    g = torch.Generator().manual_seed(0)
    image = torch.randn(16, 4, 128, 128, generator=g)
    mask = (torch.rand(16, 128, 128, generator=g) > 0.9).long()
    mixup = Mixup("uniform")
    torch.manual_seed(0)
    drawn = mixup(image, mask)  # the pairing and coefficients both contenders use

    def textbook() -> tuple[torch.Tensor, torch.Tensor]:
        perm, lam = drawn.perm, drawn.lam
        li, lt = lam.view(-1, 1, 1, 1), lam.view(-1, 1, 1)
        x = li * image + (1 - li) * image[perm]
        y = lt * mask.float() + (1 - lt) * mask[perm].float()
        return x, y

    def ours() -> tuple[torch.Tensor, torch.Tensor]:
        torch.manual_seed(0)  # the same draw as ``drawn``
        out = mixup(image, mask)
        return out.image, out.target

    x, y = benchmark(ours if impl == "landbench-lerp" else textbook)
    peer_x, peer_y = (textbook if impl == "landbench-lerp" else ours)()
    assert torch.allclose(x, peer_x, atol=1e-5) and torch.allclose(y, peer_y, atol=1e-6)
