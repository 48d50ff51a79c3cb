"""Checkpoints: atomic writes, random-generator states, and the checks before resuming a run.

A run folder's ``checkpoints/last.ckpt`` (every epoch) and ``checkpoints/best.ckpt`` (the
validation-selected epoch) are Lightning checkpoints written through a temporary file and a
rename, carrying the random generators' states so that a resumed run draws the same patches,
flips and Mixup pairs as an uninterrupted one. They hold tensors, lists and numbers only, and
are read with ``weights_only=True`` (nothing is unpickled).
"""

from __future__ import annotations

import io
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import yaml
from lightning.pytorch.plugins.io import TorchCheckpointIO

from landbench.core.errors import ConfigError
from landbench.core.io import atomic_write_bytes
from landbench.training.config import RESUMABLE_CHANGES, TrainConfig, config_differences
from landbench.training.transfer import canonical_options

RNG_KEY = "landbench_rng"
"""Checkpoint key of the random generators' states."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes checkpoints through a temporary file and a rename (never half-written)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        """Serialise ``checkpoint`` in memory, then write it atomically to ``path``."""
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        atomic_write_bytes(path, buffer.getvalue())


def rng_states() -> dict[str, Any]:
    """The states of torch's (CPU and CUDA), numpy's and Python's global generators.

    Stored as tensors, lists and ints only, so checkpoints load with ``weights_only=True``.
    """
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "python": [version, list(internal), gauss_next],
    }


def set_rng_states(states: Mapping[str, Any]) -> None:
    """Inverse of :func:`rng_states` (CUDA states only when the device count matches)."""
    torch.set_rng_state(states["torch"])
    cuda = states.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    name, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))


class RngStateCallback(L.Callback):
    """Saves the random generators' states with every checkpoint and restores them on resume."""

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Store the generators' states in the checkpoint."""
        checkpoint[RNG_KEY] = rng_states()

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        """Restore the generators' states of a resumed run."""
        if RNG_KEY in checkpoint:
            set_rng_states(checkpoint[RNG_KEY])


def _read_checkpoint(path: Path) -> dict[str, Any]:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        hparams = checkpoint["hyper_parameters"]
        hparams["model"], hparams["model_kwargs"]  # noqa: B018 - a landbench task's checkpoint
        int(checkpoint["epoch"])
    except Exception as err:  # a truncated or foreign file: say which, not a pickle traceback
        raise ConfigError(
            f"Cannot resume from {path}: not a landbench training checkpoint ({err})."
        ) from None
    return checkpoint


def check_resume(run_dir: Path, config: TrainConfig, model_config: Mapping[str, Any]) -> Path:
    """Check that ``run_dir`` holds a resumable run of the same recipe; return its last.ckpt.

    Args:
        run_dir: the run folder.
        config: the recipe to continue with (only :data:`RESUMABLE_CHANGES` may differ from the
            folder's ``config.yaml``).
        model_config: the full options of the model ``config`` builds (``model.config``).

    Raises:
        ConfigError: if the folder is not a run folder, has no checkpoint, was made by another
            recipe or model, or has already trained more epochs than ``trainer.max_epochs``.
    """
    saved_path = run_dir / "config.yaml"
    last = run_dir / "checkpoints" / "last.ckpt"
    if not saved_path.is_file():
        raise ConfigError(
            f"Cannot resume: {run_dir} has no config.yaml, so it is not a run folder."
        )
    if config.transfer.strategy == "pretrained":
        raise ConfigError("Cannot resume a 'pretrained' run: it does not train. Run it again.")
    if not last.is_file():
        raise ConfigError(
            f"Cannot resume: {last} does not exist (the run stopped before its first epoch "
            "ended). Start it again in a new folder (--out) or remove the folder."
        )
    saved = yaml.safe_load(saved_path.read_text(encoding="utf-8")) or {}
    new = config.to_dict()
    changed = config_differences(saved, new)
    if changed:
        detail = ", ".join(f"{k}: {_get(saved, k)!r} -> {_get(new, k)!r}" for k in changed[:6])
        raise ConfigError(
            f"Cannot resume {run_dir}: the config differs from the run's config.yaml ({detail}). "
            f"Only {', '.join(RESUMABLE_CHANGES)} may change; start a new run (--out) instead."
        )
    checkpoint = _read_checkpoint(last)
    hparams = checkpoint["hyper_parameters"]
    name, saved_model = hparams["model"], hparams["model_kwargs"]
    if name != config.model.name or canonical_options(saved_model) != canonical_options(
        model_config
    ):
        raise ConfigError(
            f"Cannot resume from {last}: it holds model {name!r} with options {saved_model}, "
            f"but the config builds {config.model.name!r} with {config.model.kwargs}."
        )
    done = int(checkpoint["epoch"]) + 1
    if config.trainer.max_epochs < done:
        raise ConfigError(
            f"Cannot resume {run_dir}: it has already trained {done} epochs, more than "
            f"trainer.max_epochs {config.trainer.max_epochs}. Resume with --trainer.max_epochs "
            f"{done} or more to train further, or use the run as it is (its best weights are in "
            f"{run_dir / 'checkpoints' / 'best.ckpt'})."
        )
    return last


def _get(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node
