"""The Lightning module that trains any landbench (or TorchGeo / smp) binary segmentation model.

Follows TorchGeo's trainer conventions: batches are dicts with ``image`` ``[N, C, H, W]``,
``mask`` ``[N, H, W]`` and, where tiles were padded, ``valid`` ``[N, H, W]`` (false on padding);
metrics are logged per stage with the stage as prefix. Logged names:

* ``train_loss``: the training loss over real pixels (on Mixup's soft targets when Mixup is on),
  per epoch mean.
* ``val_loss``, ``val_f1``, ``val_iou``, ``val_precision``, ``val_recall`` (and ``test_*`` the
  same way when ``trainer.test`` is called; training never does): the loss and the landslide
  class's pixel F1, IoU, precision and recall pooled over every real pixel of the split (micro),
  at the predictor's 0.5 probability threshold. Validation predicts through the inference
  layer's :class:`~landbench.inference.predictor.Predictor` (each tile cropped to its real
  pixels and padded alone) and counts with the evaluator's
  :func:`~landbench.evaluation.counts.confusion_counts`, so its scores are the scores that
  ``landbench evaluate`` gives the same weights. A score whose denominator is 0 is 0.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import MeanMetric

from landbench.core.errors import ConfigError
from landbench.core.layout import channels_last
from landbench.core.padding import valid_extent
from landbench.evaluation.counts import COUNT_FIELDS, Counts, confusion_counts
from landbench.evaluation.metrics import pooled_metrics
from landbench.inference.predictor import DEFAULT_BANDS, Predictor
from landbench.training.losses import BCEDiceLoss
from landbench.training.mixup import Mixup, mixup_batch

#: Names of the validation metrics, as logged with a ``val_`` / ``test_`` prefix.
METRIC_NAMES: tuple[str, ...] = ("f1", "iou", "precision", "recall")


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
        mixup_p: probability of mixing a batch (1.0: every batch).
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
        mixup_p: float = 1.0,
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
        self.model = channels_last(model)
        self.loss_fn = BCEDiceLoss(bce_weight, dice_weight, pos_weight)
        self.mixup = Mixup(mixup, mixup_alpha, mixup_p, mixup_per_sample)
        self.train_loss_mean = MeanMetric()
        # Pooled confusion counts of the epoch (tp, fp, fn, tn), summed across processes.
        self.register_buffer("eval_counts", torch.zeros(4, dtype=torch.int64), persistent=False)
        self.scores: dict[str, float] = {}
        """The last validation (or test) epoch's pooled scores, as float64 Python floats."""
        self._eval_predictor: Predictor | None = None

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
        """Mix the batch (on the device), then BCE + Dice against the (soft) targets.

        Padded pixels (``valid`` false: tiles smaller than a patch, padded by the core rule)
        carry no loss; a mixed pixel counts when both partners are real.
        """
        batch = mixup_batch(batch, self.mixup)
        logits = self(batch["image"])
        loss = self.loss_fn(logits, batch["mask"], batch.get("valid"))
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

    def predictor(self, bands: tuple[str, ...] | None = None) -> Predictor:
        """The inference layer's predictor around this task's model.

        Validation batches come normalised by the data module (over each tile's real pixels,
        with the train statistics), so the statistics given here are never applied; the
        predictor crops, pads and runs each tile exactly as ``landbench evaluate`` does.
        """
        datamodule = getattr(self._trainer, "datamodule", None) if self._trainer else None
        bands = tuple(bands or getattr(datamodule, "bands", None) or DEFAULT_BANDS)
        n = len(bands)
        return Predictor(
            self.model,
            [0.0] * n,
            [1.0] * n,
            bands=bands,
            device=self.device,
            batch_size=max(1, int(getattr(datamodule, "eval_batch_size", 8))),
            threshold=self.hparams.threshold,
        )

    def _eval_step(self, batch: dict[str, Any], stage: str) -> Tensor:
        image, mask = batch["image"], batch["mask"]
        valid = batch.get("valid")
        if valid is None:
            valid = torch.ones_like(mask, dtype=torch.bool)
        was_training = self.model.training
        if self._eval_predictor is None:
            # One per epoch: building it walks the model (about 7 ms a batch on a CPU).
            self._eval_predictor = self.predictor()
        predictor = self._eval_predictor
        extents = [valid_extent(v) for v in valid]
        tiles = [im[:, :h, :w] for im, (h, w) in zip(image, extents)]
        self.model.eval()  # as the predictor runs it; Lightning's mode is restored below
        logits = predictor.logits(tiles, normalized=True)
        self.model.train(was_training)
        targets = [mask[i, : t.shape[-2], : t.shape[-1]] for i, t in enumerate(logits)]
        flat_logits = torch.cat([t.reshape(-1) for t in logits]).to(self.device)
        flat_target = torch.cat([t.reshape(-1) for t in targets])
        loss = self.loss_fn(flat_logits.view(1, 1, -1), flat_target.view(1, -1))
        counts = sum(
            (
                confusion_counts(torch.sigmoid(lg) > predictor.threshold, t.cpu())
                for lg, t in zip(logits, targets)
            ),
            Counts(),
        )
        self.eval_counts += torch.tensor([getattr(counts, k) for k in COUNT_FIELDS]).to(
            self.eval_counts.device
        )
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
        total = self.trainer.strategy.reduce(self.eval_counts.clone(), reduce_op="sum")
        self.eval_counts.zero_()
        counts = Counts(**dict(zip(COUNT_FIELDS, (int(v) for v in total.tolist()))))
        self.scores = {f"{stage}_{k}": float(v) for k, v in pooled_metrics(counts).items()}
        # Identical on every process already; sync_dist only keeps Lightning's DDP check quiet.
        self.log(f"{stage}_f1", self.scores[f"{stage}_f1"], prog_bar=True, sync_dist=True)
        others = {k: v for k, v in self.scores.items() if k != f"{stage}_f1"}
        self.log_dict(others, sync_dist=True)

    def on_validation_epoch_start(self) -> None:
        """Start the epoch's pooled counts from zero."""
        self.eval_counts.zero_()
        self._eval_predictor = None

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> Tensor:
        """Loss and pixel counts of a validation batch, each tile predicted at its own size."""
        return self._eval_step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        """Log the pooled F1, IoU, precision and recall of the epoch."""
        self._log_scores("val")

    def on_test_epoch_start(self) -> None:
        """Start the pooled counts from zero."""
        self.eval_counts.zero_()
        self._eval_predictor = None

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
            # Over the run's budget: its optimiser steps when the Trainer has max_steps, else
            # its epochs.
            max_steps = self.trainer.max_steps if self.trainer.max_steps > 0 else None
            budget = max_steps or self.trainer.max_epochs or 1
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(
                optimizer, T_max=max(int(budget), 1), eta_min=hp.min_lr
            )
            interval = "step" if max_steps else "epoch"
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": sched, "interval": interval},
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
