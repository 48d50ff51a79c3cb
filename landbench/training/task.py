"""The Lightning module that trains any landbench (or TorchGeo / smp) binary segmentation model.

Follows TorchGeo's trainer conventions: batches are dicts with ``image`` ``[N, C, H, W]`` and
``mask`` ``[N, H, W]``; metrics are logged per stage with the stage as prefix. Logged names:

* ``train_loss``: the training loss (on Mixup's soft targets when Mixup is on), per epoch mean.
* ``val_loss``, ``val_f1``, ``val_iou``, ``val_precision``, ``val_recall`` (and ``test_*`` the
  same way when ``trainer.test`` is called; training never does): the loss and the landslide
  class's pixel F1, IoU, precision and recall pooled over every pixel of the split (micro), at a
  0.5 probability threshold, ignoring the padding that native-size batches carry (``valid``).
  A score whose denominator is 0 (no landslide predicted nor present) is 0.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric
from torchmetrics.classification import BinaryStatScores

from landbench.core.errors import ConfigError
from landbench.training.losses import BCEDiceLoss
from landbench.training.mixup import Mixup, mixup_batch

#: Names of the validation metrics, as logged with a ``val_`` / ``test_`` prefix.
METRIC_NAMES: tuple[str, ...] = ("f1", "iou", "precision", "recall")


def scores_from_counts(tp: Tensor, fp: Tensor, fn: Tensor) -> dict[str, Tensor]:
    """Pooled F1, IoU, precision and recall from pixel counts (0 where a denominator is 0)."""
    tp, fp, fn = tp.double(), fp.double(), fn.double()

    def ratio(num: Tensor, den: Tensor) -> Tensor:
        return torch.where(den > 0, num / den.clamp_min(1), torch.zeros_like(num)).float()

    return {
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
        "iou": ratio(tp, tp + fp + fn),
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
    }


class LandslideSegmentationTask(L.LightningModule):
    """Binary landslide segmentation with BCE + Dice, Mixup, AdamW and a scheduler.

    Args:
        model: a built ``nn.Module`` mapping ``[N, C, H, W]`` to logits ``[N, 1, H, W]`` (a zoo
            model, a TorchGeo/smp model), or a zoo registry name built with ``model_kwargs``.
        model_kwargs: options for :func:`landbench.models.create_model` when ``model`` is a name.
        bce_weight: weight of the BCE term.
        dice_weight: weight of the soft Dice term.
        pos_weight: BCE weight of landslide pixels; None for 1.
        mixup: ``"off"``, ``"uniform"`` or ``"beta"`` (see :class:`~landbench.training.Mixup`).
        mixup_alpha: Beta concentration.
        mixup_prob: probability of mixing a batch.
        mixup_per_sample: one coefficient per pair rather than per batch.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        scheduler: ``"cosine"``, ``"plateau"`` or ``"none"``.
        min_lr: learning-rate floor of the schedules.
        plateau_factor: LR multiplier of ``"plateau"``.
        plateau_patience: epochs without improvement before ``"plateau"`` lowers the LR.
        monitor: ``"val_f1"`` (maximised) or ``"val_loss"`` (minimised), for ``"plateau"``.
        freeze_encoders_epochs: freeze ``model.encoders()`` during the first epochs (fine-tuning).
        threshold: probability above which a pixel is predicted as landslide, for the metrics.

    Example:
        >>> task = LandslideSegmentationTask("fusionnet-resunet", {"size": "tiny"}, mixup="uniform")
        >>> L.Trainer(max_epochs=5).fit(task, datamodule=SynthDataModule(size=64))
    """

    def __init__(
        self,
        model: nn.Module | str | None = None,
        model_kwargs: dict[str, Any] | None = None,
        bce_weight: float = 1.0,
        dice_weight: float = 1.0,
        pos_weight: float | None = None,
        mixup: str = "off",
        mixup_alpha: float = 0.4,
        mixup_prob: float = 1.0,
        mixup_per_sample: bool = True,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        scheduler: str = "cosine",
        min_lr: float = 1e-6,
        plateau_factor: float = 0.5,
        plateau_patience: int = 5,
        monitor: str = "val_f1",
        freeze_encoders_epochs: int = 0,
        threshold: float = 0.5,
    ) -> None:
        super().__init__()
        if model is None:
            raise ConfigError(
                "LandslideSegmentationTask needs a model: a zoo name such as "
                "'fusionnet-resunet' or an nn.Module (pass model=... to load_from_checkpoint "
                "for models outside the zoo)."
            )
        if isinstance(model, str):
            from landbench.models import create_model

            model = create_model(model, **(model_kwargs or {}))
        elif model_kwargs:
            raise ConfigError("model_kwargs only apply when model is a registry name.")
        if not isinstance(model, nn.Module):
            raise ConfigError(f"model must be an nn.Module or a zoo name, got {type(model)}.")
        if scheduler not in ("cosine", "plateau", "none"):
            raise ConfigError(f"Unknown scheduler {scheduler!r}; use cosine, plateau or none.")
        if monitor not in ("val_f1", "val_loss"):
            raise ConfigError(f"Unknown monitor {monitor!r}; use val_f1 or val_loss.")
        if freeze_encoders_epochs and not callable(getattr(model, "encoders", None)):
            raise ConfigError(
                f"freeze_encoders_epochs needs a model with an encoders() method; "
                f"{type(model).__name__} has none."
            )
        self.save_hyperparameters(ignore=["model", "model_kwargs"])
        # A zoo model is recorded by name and config, which rebuild it: load_from_checkpoint then
        # needs nothing else, and a resume can be checked against the configured model. Other
        # modules are not hyperparameters; pass them again to load_from_checkpoint.
        name, config = getattr(model, "name", ""), getattr(model, "config", None)
        if name and isinstance(config, dict):
            self.hparams["model"] = name
            self.hparams["model_kwargs"] = dict(config)
        self.model = model
        self.loss_fn = BCEDiceLoss(bce_weight, dice_weight, pos_weight)
        self.mixup = Mixup(mixup, mixup_alpha, mixup_prob, mixup_per_sample)
        self.train_loss_mean = MeanMetric()
        self.val_stats = BinaryStatScores(threshold=threshold, ignore_index=-1)
        self.test_stats = BinaryStatScores(threshold=threshold, ignore_index=-1)

    # -- model -----------------------------------------------------------------------------

    def forward(self, image: Tensor) -> Tensor:
        """Logits ``[N, 1, H, W]`` of a normalised ``[N, C, H, W]`` batch."""
        return self.model(image)

    def encoders(self) -> list[nn.Module]:
        """The model's encoder modules (what fine-tuning freezes)."""
        get = getattr(self.model, "encoders", None)
        return list(get()) if callable(get) else []

    def set_encoders_frozen(self, frozen: bool) -> None:
        """Freeze (no gradients, batch-norm statistics fixed) or release the encoders."""
        for encoder in self.encoders():
            encoder.requires_grad_(not frozen)
            # Frozen encoders also keep their batch-norm statistics (eval mode); released ones
            # follow the task's own mode again.
            encoder.train(self.training and not frozen)

    # -- training --------------------------------------------------------------------------

    def on_train_epoch_start(self) -> None:
        """Reset the epoch's loss mean and apply the encoder freezing schedule."""
        self.train_loss_mean.reset()
        if self.hparams.freeze_encoders_epochs:
            self.set_encoders_frozen(self.current_epoch < self.hparams.freeze_encoders_epochs)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        """Mix the batch (on the device), then BCE + Dice against the (soft) targets."""
        # Training ignores ``valid``: random patches only pad tiles smaller than the patch, the
        # padding is labelled background, and kornia's flips do not transform that key.
        batch = mixup_batch(batch, self.mixup)
        logits = self(batch["image"])
        loss = self.loss_fn(logits, batch["mask"])
        n = batch["image"].shape[0]
        self.train_loss_mean.update(loss.detach(), weight=n)
        self.log(
            "train_loss",
            loss,
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            batch_size=n,
            sync_dist=True,
        )
        return loss

    def _eval_step(self, batch: dict[str, Any], stage: str) -> Tensor:
        logits = self(batch["image"])
        mask = batch["mask"]
        valid = batch.get("valid")
        if valid is None:
            valid = torch.ones_like(mask, dtype=torch.bool)
        loss = self.loss_fn(logits, mask, valid)
        target = mask.masked_fill(~valid, -1)
        stats = self.val_stats if stage == "val" else self.test_stats
        stats.update(torch.sigmoid(logits[:, 0].float()), target)
        self.log(
            f"{stage}_loss",
            loss,
            on_step=False,
            on_epoch=True,
            prog_bar=stage == "val",
            batch_size=mask.shape[0],
            sync_dist=True,
        )
        return loss

    def _log_scores(self, stage: str) -> None:
        stats = self.val_stats if stage == "val" else self.test_stats
        tp, fp, _tn, fn, _support = stats.compute()  # already reduced across processes
        stats.reset()
        scores = scores_from_counts(tp, fp, fn)
        # Identical on every process already; sync_dist only keeps Lightning's DDP check quiet.
        self.log(f"{stage}_f1", scores.pop("f1"), prog_bar=True, sync_dist=True)
        self.log_dict({f"{stage}_{k}": v for k, v in scores.items()}, sync_dist=True)

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        """Loss and pixel counts of a native-size validation batch."""
        return self._eval_step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        """Log the pooled F1, IoU, precision and recall of the epoch."""
        self._log_scores("val")

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        """Like :meth:`validation_step` for ``trainer.test`` (never called by training)."""
        return self._eval_step(batch, "test")

    def on_test_epoch_end(self) -> None:
        """Log the pooled test scores."""
        self._log_scores("test")

    def predict_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        """Landslide probabilities ``[N, H, W]``."""
        return torch.sigmoid(self(batch["image"])[:, 0].float())

    def configure_optimizers(self) -> Any:
        """AdamW over every parameter, with the configured schedule (stepped per epoch)."""
        hp = self.hparams
        params = [p for p in self.model.parameters()]
        if not params:
            raise ConfigError(
                f"{type(self.model).__name__} has no parameters to train; fit it instead."
            )
        # Frozen encoders stay in the optimiser: parameters without gradients are skipped by
        # AdamW (no update, no weight decay) until they are released.
        optimizer = torch.optim.AdamW(params, lr=hp.lr, weight_decay=hp.weight_decay)
        if hp.scheduler == "none":
            return optimizer
        if hp.scheduler == "cosine":
            max_epochs = self.trainer.max_epochs if self.trainer.max_epochs else 1
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(
                optimizer, T_max=max(int(max_epochs), 1), eta_min=hp.min_lr
            )
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": sched, "interval": "epoch"},
            }
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            mode="max" if hp.monitor == "val_f1" else "min",
            factor=hp.plateau_factor,
            patience=hp.plateau_patience,
            min_lr=hp.min_lr,
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": sched, "interval": "epoch", "monitor": hp.monitor},
        }
