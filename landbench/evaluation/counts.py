"""Confusion counts of binary landslide masks: exact, fast, and streamable over a split.

Every landbench metric is a function of four integers per image (true/false positives and
negatives of the landslide class), so a split is scored by accumulating those counts once and
deriving pooled and per-image metrics from them. Counting is the only pass over pixels; it is
hand-written here because general-purpose metric libraries are two to three orders of magnitude
slower on this job (see ``tests/benchmarks/test_bench_metrics.py``): masks are viewed as bytes
and counted in cache-sized chunks with ``np.bitwise_and`` and ``np.count_nonzero`` (SIMD
popcounts), so each pixel is read from memory once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from landbench.core.errors import InvalidDataError

COUNT_FIELDS: tuple[str, str, str, str] = ("tp", "fp", "fn", "tn")
"""Names of the four counts, in the column order of per-image count arrays."""

# Elements per chunk: 512 KiB of each mask plus the scratch buffer stay in L2 cache, so the
# masks are streamed from memory once although three counts are taken from them.
_CHUNK = 1 << 19


@dataclass(frozen=True)
class Counts:
    """Confusion counts of the landslide class (positive = 1).

    Attributes:
        tp: landslide pixels predicted as landslide.
        fp: background pixels predicted as landslide.
        fn: landslide pixels predicted as background.
        tn: background pixels predicted as background.
    """

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __post_init__(self) -> None:
        for name in COUNT_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 0:
                raise InvalidDataError(
                    f"Count {name} must be a non-negative integer, got {value!r}."
                )
            object.__setattr__(self, name, int(value))

    def __add__(self, other: Counts) -> Counts:
        if not isinstance(other, Counts):
            return NotImplemented
        return Counts(
            self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn
        )

    def __radd__(self, other: Any) -> Counts:
        # Lets ``sum(list_of_counts)`` start from 0.
        if isinstance(other, int) and other == 0:
            return self
        return NotImplemented

    @property
    def n_pixels(self) -> int:
        """Total number of pixels counted."""
        return self.tp + self.fp + self.fn + self.tn

    @property
    def n_target(self) -> int:
        """Landslide pixels in the ground truth (``tp + fn``)."""
        return self.tp + self.fn

    @property
    def n_predicted(self) -> int:
        """Pixels predicted as landslide (``tp + fp``)."""
        return self.tp + self.fp

    def to_dict(self) -> dict[str, int]:
        """``{"tp": ..., "fp": ..., "fn": ..., "tn": ...}`` (JSON-ready Python ints)."""
        return {name: getattr(self, name) for name in COUNT_FIELDS}

    def to_array(self) -> np.ndarray:
        """The counts as int64 ``[4]`` in :data:`COUNT_FIELDS` order."""
        return np.array([self.tp, self.fp, self.fn, self.tn], dtype=np.int64)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Counts:
        """Inverse of :meth:`to_dict`."""
        missing = [k for k in COUNT_FIELDS if k not in data]
        if missing:
            raise InvalidDataError(f"Counts {data!r} lack {missing}.")
        return cls(*(data[k] for k in COUNT_FIELDS))

    @classmethod
    def from_array(cls, array: Sequence[int] | np.ndarray) -> Counts:
        """Counts from a ``[4]`` sequence in :data:`COUNT_FIELDS` order."""
        values = np.asarray(array).reshape(-1)
        if values.shape != (4,):
            raise InvalidDataError(f"Expected 4 counts (tp, fp, fn, tn), got shape {values.shape}.")
        return cls(*(int(v) for v in values))


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "device")


def _as_mask_bytes(x: Any, name: str) -> np.ndarray:
    """A binary mask as a C-contiguous uint8 array of 0/1 (a view whenever possible).

    bool and uint8 masks are viewed without copying; other dtypes are checked and converted.
    The 0/1 check of uint8 masks happens later, chunk by chunk, in :func:`_count_flat`.
    """
    if _is_torch(x):
        x = x.detach().cpu().numpy()
    array = np.asarray(x)
    if array.dtype == np.bool_ or array.dtype == np.uint8:
        return np.ascontiguousarray(array).view(np.uint8)
    if array.dtype == np.int8:
        return np.ascontiguousarray(array).view(np.uint8)  # -1 becomes 255: caught by the check
    if array.dtype.kind in "iuf":
        ok = (array == 0) | (array == 1)
        if not ok.all():
            bad = np.unique(array[~ok])[:5].tolist()
            raise InvalidDataError(
                f"{name} must be a binary mask with values 0 and 1, found {bad}; threshold "
                "probabilities (e.g. probs > 0.5) before counting."
            )
        return array.astype(np.uint8)
    raise InvalidDataError(f"{name} must be a numeric or boolean mask, got dtype {array.dtype}.")


def _count_flat(pred: np.ndarray, target: np.ndarray) -> tuple[int, int, int]:
    """``(tp, predicted positives, target positives)`` of two flat uint8 0/1 arrays.

    Per chunk: ``union = pred | target`` (checked to be 0/1, so that the bool views below are
    exact), then three SIMD non-zero counts; ``tp = |pred| + |target| - |union|``.
    """
    n = pred.size
    chunk = min(_CHUNK, max(n, 1))
    scratch = np.empty(chunk, dtype=np.uint8)
    n_union = n_pred = n_target = 0
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        p, t = pred[start:stop], target[start:stop]
        union = scratch[: stop - start]
        np.bitwise_or(p, t, out=union)
        if union.max() > 1:
            _raise_not_binary(p, t)
        n_union += np.count_nonzero(union.view(np.bool_))
        n_pred += np.count_nonzero(p.view(np.bool_))
        n_target += np.count_nonzero(t.view(np.bool_))
    return int(n_pred + n_target - n_union), int(n_pred), int(n_target)


def _raise_not_binary(p: np.ndarray, t: np.ndarray) -> None:
    for name, x in (("pred", p), ("target", t)):
        bad = np.unique(x[x > 1])[:5].tolist()
        if bad:
            raise InvalidDataError(
                f"{name} must be a binary mask with values 0 and 1, found {bad}; map 255 to 1 "
                "(or threshold probabilities) before counting."
            )


def _check_shapes(pred: Any, target: Any) -> None:
    if tuple(pred.shape) != tuple(target.shape):
        raise InvalidDataError(
            f"pred and target shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}."
        )


def _torch_counts(pred: Any, target: Any, dims: tuple[int, ...] | None) -> Any:
    """Counts on the tensors' own device (used for accelerator tensors, avoiding a copy)."""
    import torch

    def binary(x: Any, name: str) -> Any:
        if x.dtype == torch.bool:
            return x
        if not bool(((x == 0) | (x == 1)).all()):
            raise InvalidDataError(f"{name} must be a binary mask with values 0 and 1.")
        return x != 0

    p, t = binary(pred, "pred"), binary(target, "target")
    if dims is None:
        tp = (p & t).sum()
        n_pred, n_target, n = p.sum(), t.sum(), p.numel()
    elif not dims:  # torch sums over every dim for dim=(): here each element is one image
        tp, n_pred, n_target, n = (p & t).long(), p.long(), t.long(), 1
    else:
        tp = (p & t).sum(dim=dims)
        n_pred, n_target = p.sum(dim=dims), t.sum(dim=dims)
        n = int(np.prod([p.shape[d] for d in dims])) if dims else 1
    fp, fn = n_pred - tp, n_target - tp
    tn = n - tp - fp - fn
    return torch.stack([tp, fp, fn, tn], dim=-1).to(torch.int64).cpu().numpy()


def confusion_counts(pred: Any, target: Any) -> Counts:
    """Confusion counts of two binary masks of the same shape, pooled over every element.

    Args:
        pred: predicted mask, numpy array or torch tensor of any shape (e.g. ``[H, W]`` or a
            batch ``[N, H, W]``), bool or numeric with values in {0, 1}; 1 = landslide.
        target: ground-truth mask of the same shape and convention.

    Returns:
        The pooled :class:`Counts` (exact integers).

    Raises:
        InvalidDataError: if the shapes differ or a mask holds values other than 0 and 1.

    Example:
        >>> confusion_counts(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0]))
        Counts(tp=1, fp=1, fn=1, tn=1)
    """
    _check_shapes(pred, target)
    if _is_torch(pred) and _is_torch(target) and pred.device.type != "cpu":
        return Counts.from_array(_torch_counts(pred, target, None))
    p = _as_mask_bytes(pred, "pred").reshape(-1)
    t = _as_mask_bytes(target, "target").reshape(-1)
    tp, n_pred, n_target = _count_flat(p, t)
    fp, fn = n_pred - tp, n_target - tp
    return Counts(tp, fp, fn, p.size - tp - fp - fn)


def confusion_counts_per_image(pred: Any, target: Any) -> np.ndarray:
    """Confusion counts of each image of a batch.

    Args:
        pred: predicted masks ``[N, ...]`` (e.g. ``[N, H, W]`` or ``[N, 1, H, W]``), values in
            {0, 1}, numpy or torch.
        target: ground-truth masks of the same shape.

    Returns:
        int64 array ``[N, 4]``, columns ``tp, fp, fn, tn`` (:data:`COUNT_FIELDS`).

    Raises:
        InvalidDataError: if the shapes differ, a mask is not binary, or there is no batch axis.
    """
    _check_shapes(pred, target)
    if len(pred.shape) < 1:
        raise InvalidDataError("Per-image counts need a batch axis: masks of shape [N, ...].")
    if _is_torch(pred) and _is_torch(target) and pred.device.type != "cpu":
        return _torch_counts(pred, target, tuple(range(1, len(pred.shape))))
    p = _as_mask_bytes(pred, "pred")
    t = _as_mask_bytes(target, "target")
    n = p.shape[0]
    p, t = p.reshape(n, -1), t.reshape(n, -1)
    out = np.empty((n, 4), dtype=np.int64)
    for i in range(n):
        tp, n_pred, n_target = _count_flat(p[i], t[i])
        out[i] = (tp, n_pred - tp, n_target - tp, p.shape[1] - n_pred - n_target + tp)
    return out


class ConfusionAccumulator:
    """Streams confusion counts over a split, image by image, keeping per-image counts.

    Example:
        >>> acc = ConfusionAccumulator()
        >>> for sample, pred in zip(dataset, predictions):
        ...     acc.update(pred, sample["mask"], sample["id"])
        >>> acc.total  # pooled Counts
        >>> acc.per_image  # int64 [N, 4]
    """

    def __init__(self) -> None:
        self._rows: list[np.ndarray] = []
        self._ids: list[str] = []

    def update(self, pred: Any, target: Any, sample_id: str | None = None) -> Counts:
        """Add one image (``[H, W]``, any shape accepted); returns its counts."""
        counts = confusion_counts(pred, target)
        self._rows.append(counts.to_array())
        self._ids.append(str(len(self._ids)) if sample_id is None else sample_id)
        return counts

    def update_batch(self, pred: Any, target: Any, sample_ids: Iterable[str] | None = None) -> None:
        """Add a batch ``[N, ...]`` of images, each counted separately."""
        rows = confusion_counts_per_image(pred, target)
        ids = list(sample_ids) if sample_ids is not None else None
        if ids is not None and len(ids) != len(rows):
            raise InvalidDataError(f"{len(ids)} ids for a batch of {len(rows)} masks.")
        for i, row in enumerate(rows):
            self._rows.append(row)
            self._ids.append(str(len(self._ids)) if ids is None else ids[i])

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def ids(self) -> tuple[str, ...]:
        """Ids of the images added, in order."""
        return tuple(self._ids)

    @property
    def per_image(self) -> np.ndarray:
        """int64 ``[N, 4]`` counts of each image (columns :data:`COUNT_FIELDS`)."""
        if not self._rows:
            return np.zeros((0, 4), dtype=np.int64)
        return np.stack(self._rows)

    @property
    def total(self) -> Counts:
        """The counts pooled over every image added."""
        return Counts.from_array(self.per_image.sum(axis=0))
