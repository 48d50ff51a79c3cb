"""The classical baseline: gradient-boosted trees on per-pixel features (``hgb-pixel``).

A benchmark must show the floor a deep model has to clear: scikit-learn's
:class:`~sklearn.ensemble.HistGradientBoostingClassifier` on simple per-pixel features of the
optical bands and of the terrain, fitted on a bounded random sample of train pixels.

Features (:func:`pixel_features`), all computed on the normalised input (each band in units of
its train-split standard deviation, "norm. units"), windows of ``window`` x ``window`` pixels
(default 7) with edge replication at tile borders (the padding rule of ``core.padding``):

=====================  =========================================================  ===============
name                   definition                                                 unit
=====================  =========================================================  ===============
``<band>``             the band's value, for every band of the band set            norm. units
``brightness_std``     std of the optical mean (brightness) in the window           norm. units
``slope``              Sobel gradient magnitude of the DEM (``ndimage.sobel`` / 8)  norm. units/px
``aspect_cos``         downslope direction, row component (0 where flat)            1
``aspect_sin``         downslope direction, column component (0 where flat)         1
``curvature``          4-neighbour Laplacian of the DEM (``ndimage.laplace``)       norm. units/px2
``relief``             max - min of the DEM in the window                          norm. units
``dem_std``            std of the DEM in the window                                norm. units
``dem_position``       DEM minus its window mean (ridge > 0, valley < 0)           norm. units
=====================  =========================================================  ===============

``brightness_std`` needs an optical band, the DEM features a ``DEM`` band; a band set without
them simply has fewer features (:attr:`HGBPixel.feature_names`), so any band set works. For R, G,
B, DEM that is 4 + 1 + 7 = 12 features.

:meth:`HGBPixel.fit` draws a uniform random sample of at most ``max_samples`` valid train pixels
(each pixel gets a key from a generator seeded with ``seed``; the smallest keys are kept while
the batches stream, so memory stays bounded and the sample is a pure function of the seed and
the batch order), fits the trees, and picks the probability threshold with the best pooled F1
on that sample; the logits are shifted so that ``sigmoid(logit) > 0.5`` exactly where the
probability passes that threshold (every model is thresholded at 0.5 by the evaluator).

The fitted trees are stored as tensors (buffers), never pickled: per tree and node, the feature,
the threshold on the raw feature value, the children, the leaf flag, the leaf value and where a
missing value goes (the node arrays scikit-learn's ``TreePredictor.nodes`` hold). Prediction
walks all trees at once in numpy with the rule scikit-learn applies (``x <= threshold`` goes
left), so a reloaded model reproduces scikit-learn's ``predict_proba`` exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from landbench.core.bands import canonical_band
from landbench.core.errors import ConfigError, InvalidDataError
from landbench.models.base import DEFAULT_BANDS, FittedBaseline
from landbench.models.registry import register_model

#: Rows walked through the trees at once (a few MB of work arrays).
_CHUNK = 65_536
#: numpy dtype of each buffer dtype, for copying scikit-learn's node arrays.
_NUMPY_DTYPES = {torch.int64: np.int64, torch.float64: np.float64, torch.bool: np.bool_}
HGB_REF = "scikit-learn HistGradientBoostingClassifier (after LightGBM, Ke et al., NeurIPS 2017)"
#: The DEM features, in order, computed when the band set has a DEM.
DEM_FEATURES: tuple[str, ...] = (
    "slope",
    "aspect_cos",
    "aspect_sin",
    "curvature",
    "relief",
    "dem_std",
    "dem_position",
)


class Tree(NamedTuple):
    """One fitted tree as numpy arrays over its nodes (see :meth:`HGBPixel.trees`)."""

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    depth: int


#: The DEM features computed over a window (their names end in the window size).
WINDOWED: tuple[str, ...] = ("relief", "dem_std", "dem_position")


def _window_std(x: np.ndarray, window: int) -> np.ndarray:
    """Standard deviation of ``x`` ``[H, W]`` in each ``window`` x ``window`` neighbourhood."""
    from scipy import ndimage

    x64 = x.astype(np.float64)
    mean = ndimage.uniform_filter(x64, window, mode="nearest")
    mean_sq = ndimage.uniform_filter(x64 * x64, window, mode="nearest")
    return np.sqrt(np.maximum(mean_sq - mean * mean, 0.0)).astype(np.float32)


def feature_names(bands: Sequence[str], window: int = 7) -> list[str]:
    """Names of the features :func:`pixel_features` computes for ``bands`` (see module doc)."""
    groups = _groups(bands)
    names = list(bands)
    if groups["optical"]:
        names.append(f"brightness_std_{window}")
    if groups["dem"] is not None:
        names += [f"{n}_{window}" if n in WINDOWED else n for n in DEM_FEATURES]
    return names


def _groups(bands: Sequence[str]) -> dict[str, Any]:
    from landbench.core.bands import split_groups

    optical, _ = split_groups(bands)
    canonical = [canonical_band(b) for b in bands]
    return {"optical": optical, "dem": canonical.index("DEM") if "DEM" in canonical else None}


def pixel_features(tile: np.ndarray, bands: Sequence[str], window: int = 7) -> np.ndarray:
    """Per-pixel features of one normalised tile.

    Args:
        tile: ``[C, H, W]`` float array, the bands of ``bands`` normalised.
        bands: the band names, in channel order.
        window: side of the square windows, pixels (odd).

    Returns:
        float32 ``[H * W, F]``, one row per pixel in row-major order, columns as
        :func:`feature_names`.
    """
    from scipy import ndimage

    groups = _groups(bands)
    tile = np.asarray(tile, dtype=np.float32)
    columns = [tile[c] for c in range(tile.shape[0])]
    if groups["optical"]:
        brightness = tile[groups["optical"]].mean(axis=0)
        columns.append(_window_std(brightness, window))
    if groups["dem"] is not None:
        dem = tile[groups["dem"]].astype(np.float64)
        # Sobel sums 4 central differences with weights 1, 2, 1: divide by 8 for units per px.
        grad_row = ndimage.sobel(dem, axis=0, mode="nearest") / 8.0
        grad_col = ndimage.sobel(dem, axis=1, mode="nearest") / 8.0
        slope = np.hypot(grad_row, grad_col)
        flat = slope == 0
        safe = np.where(flat, 1.0, slope)
        window_mean = ndimage.uniform_filter(dem, window, mode="nearest")
        columns += [
            slope,
            np.where(flat, 0.0, -grad_row / safe),
            np.where(flat, 0.0, -grad_col / safe),
            ndimage.laplace(dem, mode="nearest"),
            ndimage.maximum_filter(dem, window, mode="nearest")
            - ndimage.minimum_filter(dem, window, mode="nearest"),
            _window_std(dem, window),
            dem - window_mean,
        ]
    return np.stack([c.astype(np.float32).ravel() for c in columns], axis=1)


def _walk(tree: Tree, columns: np.ndarray) -> np.ndarray:
    """Leaf value ``[P]`` that ``tree`` gives each pixel of ``columns`` ``[F, P]`` (float64).

    ``x <= threshold`` goes left and a missing value goes where the tree says, as in
    scikit-learn's ``TreePredictor``. Leaves are their own children with an infinite threshold
    (see :meth:`HGBPixel.trees`), so ``tree.depth`` steps bring every pixel to its leaf without
    tracking which have arrived.
    """
    pixels = np.arange(columns.shape[1])
    node = np.zeros(columns.shape[1], dtype=np.intp)
    has_nan = bool(np.isnan(columns).any())
    for _ in range(tree.depth):
        value = columns[tree.feature[node], pixels]
        go_left = value <= tree.threshold[node]
        if has_nan:
            go_left |= np.isnan(value) & tree.missing_left[node]
        node = np.where(go_left, tree.left[node], tree.right[node])
    return tree.value[node]


def _keep_smallest(keys: np.ndarray, rows: np.ndarray, labels: np.ndarray, k: int):
    """The ``k`` entries with the smallest keys (all of them if there are fewer)."""
    if len(keys) <= k:
        return keys, rows, labels
    keep = np.argpartition(keys, k - 1)[:k]
    return keys[keep], rows[keep], labels[keep]


def _best_f1_threshold(proba: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """``(threshold, F1)``: the probability cut (``proba > threshold``) with the best pooled F1."""
    order = np.argsort(-proba, kind="stable")
    p, t = proba[order], target[order].astype(np.float64)
    tp = np.cumsum(t)
    fp = np.cumsum(1.0 - t)
    f1 = 2 * tp / (tp + fp + t.sum())
    # Only cut between distinct probabilities: predicted = the first i + 1 sorted pixels.
    last_of_run = np.r_[p[1:] != p[:-1], True]
    f1 = np.where(last_of_run, f1, -1.0)
    i = int(np.argmax(f1))
    below = p[i + 1] if i + 1 < len(p) else 0.0
    return float((p[i] + below) / 2), float(f1[i])


@register_model(
    "hgb-pixel",
    reference=HGB_REF,
    summary="Gradient-boosted trees (scikit-learn) on per-pixel band and DEM-derivative features.",
    band_groups="per-pixel features of the optical and terrain bands",
    trainable=False,
    family="classical",
)
class HGBPixel(FittedBaseline):
    """Histogram gradient boosting on per-pixel features, fitted on a sample of train pixels.

    Args:
        bands: the band set, in channel order (any: features come from the optical bands and,
            when present, the DEM).
        window: side of the feature windows, pixels (odd, 3 to 63).
        max_samples: at most this many train pixels are sampled for fitting.
        max_iter: boosting iterations (one tree each).
        max_leaf_nodes: leaves per tree.
        learning_rate: shrinkage of each tree.
        seed: seeds the pixel sample and scikit-learn; None draws it from torch's global
            generator at :meth:`fit` (seeded by the training run's seed).

    Shape:
        ``[N, len(bands), H, W] -> [N, 1, H, W]`` logits.
    """

    config_bounds = {
        "window": (3, 63),
        "max_samples": (1_000, 10_000_000),
        "max_iter": (1, 2_000),
        "max_leaf_nodes": (2, 1_024),
        "seed": (0, 2**32 - 1),
    }

    def __init__(
        self,
        *,
        bands: Sequence[str] = DEFAULT_BANDS,
        window: int = 7,
        max_samples: int = 200_000,
        max_iter: int = 100,
        max_leaf_nodes: int = 31,
        learning_rate: float = 0.1,
        seed: int | None = None,
    ) -> None:
        super().__init__(bands)
        if window % 2 == 0:
            raise ConfigError(f"hgb-pixel: window must be odd, got {window}.")
        if not 0 < float(learning_rate) <= 1:
            raise ConfigError(f"hgb-pixel: learning_rate must be in (0, 1], got {learning_rate}.")
        self.feature_names = feature_names(self.bands, window)
        self.config.update(
            window=int(window),
            max_samples=int(max_samples),
            max_iter=int(max_iter),
            max_leaf_nodes=int(max_leaf_nodes),
            learning_rate=float(learning_rate),
            seed=seed,
        )
        # Node arrays padded to the largest tree the options allow: 2 * leaves - 1 nodes.
        shape = (int(max_iter), 2 * int(max_leaf_nodes) - 1)
        self.register_buffer("node_feature", torch.zeros(shape, dtype=torch.int64))
        self.register_buffer("node_threshold", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("node_missing_left", torch.zeros(shape, dtype=torch.bool))
        self.register_buffer("node_left", torch.zeros(shape, dtype=torch.int64))
        self.register_buffer("node_right", torch.zeros(shape, dtype=torch.int64))
        self.register_buffer("node_is_leaf", torch.ones(shape, dtype=torch.bool))
        self.register_buffer("node_value", torch.zeros(shape, dtype=torch.float64))
        self.register_buffer("baseline", torch.tensor(float("nan"), dtype=torch.float64))
        # Logit of the probability threshold with the best pooled F1 on the train sample.
        self.register_buffer("logit_threshold", torch.tensor(0.0, dtype=torch.float64))
        self.register_buffer("train_f1", torch.tensor(float("nan"), dtype=torch.float64))
        self.register_buffer("fit_seed", torch.tensor(-1, dtype=torch.int64))

    def features(self, image: Tensor) -> np.ndarray:
        """Features ``[N * H * W, F]`` of a normalised batch ``[N, len(bands), H, W]``."""
        array = image.detach().to("cpu", torch.float32).numpy()
        window = self.config["window"]
        return np.concatenate([pixel_features(tile, self.bands, window) for tile in array])

    def _sample(self, batches: Iterable[dict[str, Any]], seed: int) -> tuple[np.ndarray, ...]:
        """A uniform sample of at most ``max_samples`` valid pixels: ``(features, labels)``."""
        rng = np.random.default_rng(seed)
        k = self.config["max_samples"]
        keys = np.empty(0)
        rows = np.empty((0, len(self.feature_names)), dtype=np.float32)
        labels = np.empty(0, dtype=np.int8)
        for image, mask, valid in self.iter_batches(batches):
            keep = valid.reshape(-1).numpy()
            new_keys = rng.random(int(keep.sum()))
            new_rows = self.features(image)[keep]
            new_labels = (mask.reshape(-1).numpy()[keep] > 0.5).astype(np.int8)
            keys, rows, labels = _keep_smallest(
                np.concatenate([keys, new_keys]),
                np.concatenate([rows, new_rows]),
                np.concatenate([labels, new_labels]),
                k,
            )
        # Sorting by key makes the sample independent of how the batches were cut.
        order = np.argsort(keys, kind="stable")
        return rows[order], labels[order]

    def fit(self, batches: Iterable[dict[str, Any]]) -> None:
        """Fit the trees on a sample of the train batches' valid pixels.

        Raises:
            ConfigError: if there are no batches or they are malformed.
            InvalidDataError: if the sampled pixels hold only one class.
        """
        from sklearn.ensemble import HistGradientBoostingClassifier
        from threadpoolctl import threadpool_limits

        seed = self.config["seed"]
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, (1,)))
        rows, labels = self._sample(batches, seed)
        if len(np.unique(labels)) < 2:
            raise InvalidDataError(
                "hgb-pixel.fit: the sampled train pixels hold one class only; fit on a split "
                "with landslide and background pixels."
            )
        classifier = HistGradientBoostingClassifier(
            max_iter=self.config["max_iter"],
            max_leaf_nodes=self.config["max_leaf_nodes"],
            learning_rate=self.config["learning_rate"],
            early_stopping=False,
            random_state=seed,
        )
        # One OpenMP thread: on a shared 2-core machine two spinning threads took 246 s for
        # what one thread fits in 13 s (200k pixels, 12 features, 100 trees). The fit is
        # deterministic either way.
        with threadpool_limits(1):
            classifier.fit(rows, labels)
            proba = classifier.predict_proba(rows)[:, 1]
        self.load_classifier(classifier)
        threshold, f1 = _best_f1_threshold(proba, labels)
        threshold = min(max(threshold, 1e-12), 1 - 1e-12)
        self.logit_threshold.fill_(float(np.log(threshold) - np.log1p(-threshold)))
        self.train_f1.fill_(f1)
        self.fit_seed.fill_(seed)

    def load_classifier(self, classifier: Any) -> None:
        """Copy a fitted binary ``HistGradientBoostingClassifier``'s trees into the buffers.

        Raises:
            ConfigError: if it is not binary, has more trees or nodes than the options allow, or
                was fitted on another number of features.
        """
        predictors = classifier._predictors  # one list of trees per iteration
        if classifier.n_trees_per_iteration_ != 1:
            raise ConfigError("hgb-pixel stores binary classifiers only.")
        if classifier.n_features_in_ != len(self.feature_names):
            raise ConfigError(
                f"The classifier has {classifier.n_features_in_} features, hgb-pixel "
                f"{len(self.feature_names)} ({self.feature_names})."
            )
        n_trees, n_nodes = self.node_value.shape
        if len(predictors) > n_trees:
            raise ConfigError(f"The classifier has {len(predictors)} trees, at most {n_trees}.")
        fields = {
            "feature_idx": self.node_feature,
            "num_threshold": self.node_threshold,
            "missing_go_to_left": self.node_missing_left,
            "left": self.node_left,
            "right": self.node_right,
            "is_leaf": self.node_is_leaf,
            "value": self.node_value,
        }
        for buffer in fields.values():
            buffer.zero_()
        self.node_is_leaf.fill_(True)  # unused trees are single leaves of value 0
        for t, (tree,) in enumerate(predictors):
            nodes = tree.nodes
            if len(nodes) > n_nodes:
                raise ConfigError(f"Tree {t} has {len(nodes)} nodes, at most {n_nodes}.")
            for field, buffer in fields.items():
                column = np.asarray(nodes[field]).astype(_NUMPY_DTYPES[buffer.dtype])
                buffer[t, : len(nodes)] = torch.from_numpy(column)
        self.baseline.fill_(float(np.asarray(classifier._baseline_prediction).ravel()[0]))

    def raw_predict(self, rows: np.ndarray) -> np.ndarray:
        """Raw scores (log-odds) ``[P]`` of feature rows ``[P, F]``, as scikit-learn sums them."""
        if torch.isnan(self.baseline):
            raise ConfigError(
                "hgb-pixel is not fitted: call model.fit(train_batches) or load fitted weights "
                "with landbench.models.load_weights."
            )
        columns = np.ascontiguousarray(np.asarray(rows, dtype=np.float64).T)
        raw = np.full(columns.shape[1], float(self.baseline), dtype=np.float64)
        trees = self.trees()
        for start in range(0, columns.shape[1], _CHUNK):
            chunk = columns[:, start : start + _CHUNK]
            for tree in trees:  # the order scikit-learn adds the trees in, for equal sums
                raw[start : start + _CHUNK] += _walk(tree, chunk)
        return raw

    def trees(self) -> list[Tree]:
        """The stored trees as numpy arrays, ready to walk.

        A leaf (and an unused node) becomes its own left and right child with an infinite
        threshold, so walking past it changes nothing; ``depth`` is the tree's deepest leaf.
        """
        out = []
        arrays = [
            b.cpu().numpy()
            for b in (
                self.node_feature,
                self.node_threshold,
                self.node_missing_left,
                self.node_left,
                self.node_right,
                self.node_is_leaf,
                self.node_value,
            )
        ]
        for feature, threshold, missing_left, left, right, leaf, value in zip(*arrays):
            own = np.arange(len(leaf))
            left = np.where(leaf, own, left).astype(np.intp)
            right = np.where(leaf, own, right).astype(np.intp)
            # Children follow their parent in scikit-learn's node order: one top-down pass.
            depth = np.zeros(len(leaf), dtype=np.int64)
            for j in np.flatnonzero(~leaf):
                depth[left[j]] = depth[right[j]] = depth[j] + 1
            out.append(
                Tree(
                    feature=np.where(leaf, 0, feature).astype(np.intp),
                    threshold=np.where(leaf, np.inf, threshold),
                    missing_left=missing_left,
                    left=left,
                    right=right,
                    value=value,
                    depth=int(depth.max()),
                )
            )
        return out

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        """Landslide probability ``[P]`` of feature rows ``[P, F]`` (scikit-learn's, exactly)."""
        from scipy.special import expit

        return expit(self.raw_predict(rows))

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``[N, 1, H, W]``, shifted so that 0 is the fitted F1-best threshold."""
        self.check_input(x)
        raw = self.raw_predict(self.features(x)) - float(self.logit_threshold)
        n, _, h, w = x.shape
        return torch.from_numpy(raw.reshape(n, 1, h, w)).to(device=x.device, dtype=x.dtype)
