"""Versioned, citable splits: a sample's split depends on its own id only.

A split assignment depends on nothing but a sample's id (and its class, for stratified splits):
not on file order, the operating system, any random number generator, or which other files are
present. The resulting manifest (sorted ids per split) is serialised canonically and hashed; that
SHA-256 is recorded by every result, submission, weight file and citation.

Rules, by the version that introduced them:

* **Published lists** (Hokkaido v1: the authors' folders; Landslide4Sense v1: the competition's
  id lists shipped as package data). Files in no list are reported, never assigned.
* **Per-id hash** (:func:`assign_by_hash`; Bijie v2). Each id is mapped to
  ``u = SHA-256("<dataset>/<version>/<id>")`` read as a 64-bit fraction in [0, 1) and falls in
  ``train`` if ``u < f_train``, ``val`` if ``u < f_train + f_val``, else ``test``, with the
  fractions of its class (class-stratified thresholds). Adding or removing samples never moves
  another sample, so a partial copy's manifest is the official one restricted to its files. The
  per-class shares are exact in expectation (binomial: about +-1.5 points at 770 samples).
* **Per-index sequence** (LandslideSynth v2, :func:`landbench.datasets.synth_generator.
  tile_splits`). A generated tile's id is its index, so it is placed by a low-discrepancy
  sequence of its own index: more tiles never move the others, and any ``n`` gets each split's
  share to within a few tiles (a per-id hash left ``n=40`` without validation tiles).
* **Ranked hash** (:func:`assign_splits`; Bijie v1 and LandslideSynth v1, kept so results made
  with them can be reproduced). Ids ranked by the same SHA-256 are cut at exact per-class
  counts. Because the cut points depend on how many ids there are, adding or removing one sample
  moves others across a boundary: that is why Bijie and LandslideSynth moved to v2.

No official Bijie id list is available offline (the archive is not re-hosted and no id list was
ever published), so landbench cannot ship Bijie v1 as a fixed list; v2 needs none.
"""

from __future__ import annotations

import hashlib
import json
import reprlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

from landbench.core.errors import ConfigError

SPLITS: tuple[str, ...] = ("train", "val", "test")
"""Split names, in order, as in TorchGeo."""


def check_split(split: str) -> str:
    """Return ``split`` if it is a known split name, else raise a clear error."""
    if split not in SPLITS:
        raise ConfigError(f"Unknown split {split!r}; valid splits are {', '.join(SPLITS)}.")
    return split


def id_rank_key(dataset: str, version: str, sample_id: str) -> bytes:
    """The machine-independent sort key of one sample id (its SHA-256 digest)."""
    return hashlib.sha256(f"{dataset}/{version}/{sample_id}".encode()).digest()


def id_fraction(dataset: str, version: str, sample_id: str) -> Fraction:
    """The sample's position in [0, 1): the first 8 bytes of :func:`id_rank_key` over 2**64."""
    head = int.from_bytes(id_rank_key(dataset, version, sample_id)[:8], "big")
    return Fraction(head, 2**64)


def check_fractions(fractions: Mapping[str, float]) -> dict[str, Fraction]:
    """Split fractions as exact decimals (0.7 means 7/10), in :data:`SPLITS` order.

    Raises:
        ConfigError: on an unknown split name, a negative fraction, or a sum other than 1.
    """
    unknown = sorted(set(fractions) - set(SPLITS))
    if unknown:
        raise ConfigError(f"Unknown split names {unknown} in fractions; valid: {list(SPLITS)}.")
    try:
        exact = {s: Fraction(str(fractions.get(s, 0))) for s in SPLITS}
    except (ValueError, TypeError):
        raise ConfigError(
            f"Split fractions must be numbers, got {reprlib.repr(dict(fractions))}."
        ) from None
    if any(v < 0 for v in exact.values()) or sum(exact.values()) != 1:
        raise ConfigError(
            f"Split fractions must be >= 0 and sum to 1, got {reprlib.repr(dict(fractions))}."
        )
    return exact


def _edges(fractions: Mapping[str, float]) -> list[tuple[str, Fraction]]:
    """Cumulative upper edges of each split's share of [0, 1), in :data:`SPLITS` order."""
    out, edge = [], Fraction(0)
    for split, share in check_fractions(fractions).items():
        edge += share
        out.append((split, edge))
    return out


def _split_at(u: Fraction, edges: list[tuple[str, Fraction]]) -> str:
    return next((split for split, edge in edges if u < edge), SPLITS[-1])


def split_of_id(dataset: str, version: str, sample_id: str, fractions: Mapping[str, float]) -> str:
    """The split of one id under the per-id hash rule (see the module docstring)."""
    return _split_at(id_fraction(dataset, version, sample_id), _edges(fractions))


def assign_by_hash(
    dataset: str,
    version: str,
    ids_by_class: Mapping[str, Iterable[str]],
    fractions: Mapping[str, float] | Mapping[str, Mapping[str, float]],
) -> dict[str, list[str]]:
    """Assign each id to a split by its own hash, with per-class thresholds.

    Args:
        dataset: dataset name (part of the hash, so two datasets place ids independently).
        version: split version, e.g. ``"v2"``.
        ids_by_class: class name to that class's sample ids.
        fractions: split name to fraction (the same for every class), or class name to such a
            mapping (class-stratified thresholds).

    Returns:
        Split name (every name of :data:`SPLITS`) to sorted list of ids.

    Raises:
        ConfigError: on an id in two classes, a class without fractions, or bad fractions.
    """
    per_class = all(isinstance(v, Mapping) for v in fractions.values()) and bool(fractions)
    out: dict[str, list[str]] = {s: [] for s in SPLITS}
    seen: set[str] = set()
    for cls in sorted(ids_by_class):
        ids = set(ids_by_class[cls])
        dup = seen.intersection(ids)
        if dup:
            raise ConfigError(f"Sample ids in more than one class: {sorted(dup)[:10]}.")
        seen.update(ids)
        if per_class and cls not in fractions:
            raise ConfigError(f"No split fractions for class {cls!r}; given: {sorted(fractions)}.")
        edges = _edges(fractions[cls] if per_class else fractions)  # type: ignore[arg-type]
        for sample_id in ids:
            out[_split_at(id_fraction(dataset, version, sample_id), edges)].append(sample_id)
    return {s: sorted(v) for s, v in out.items()}


def split_counts(n: int, fractions: Mapping[str, float]) -> dict[str, int]:
    """Exact split sizes for ``n`` items by largest-remainder rounding.

    Ties in the remainders go to the split listed first in ``fractions``, so the result is
    deterministic. Fractions are taken as exact decimals (0.7 means 7/10).

    Args:
        n: number of items.
        fractions: split name to fraction; must sum to 1.

    Returns:
        Split name to count; the counts sum to ``n``.
    """
    exact = {k: Fraction(str(v)) for k, v in fractions.items()}
    if sum(exact.values()) != 1:
        raise ConfigError(f"Split fractions must sum to 1, got {reprlib.repr(dict(fractions))}.")
    floors = {k: int(v * n) for k, v in exact.items()}
    left = n - sum(floors.values())
    order = sorted(exact, key=lambda k: -(exact[k] * n - floors[k]))  # stable: ties keep order
    for k in order[:left]:
        floors[k] += 1
    return floors


def assign_splits(
    dataset: str,
    version: str,
    ids_by_class: Mapping[str, Iterable[str]],
    fractions: Mapping[str, float],
) -> dict[str, list[str]]:
    """Assign ids to splits, stratified by class, as a pure function of the ids.

    Args:
        dataset: dataset name (part of the hash, so two datasets rank ids independently).
        version: split version, e.g. ``"v1"``.
        ids_by_class: class name (e.g. ``"landslide"``) to that class's sample ids.
        fractions: split name to fraction of each class, e.g. ``{"train": 0.7, ...}``.

    Returns:
        Split name to sorted list of ids.
    """
    out: dict[str, list[str]] = {s: [] for s in fractions}
    seen: set[str] = set()
    for cls in sorted(ids_by_class):
        ids = sorted(set(ids_by_class[cls]))
        dup = seen.intersection(ids)
        if dup:
            raise ConfigError(f"Sample ids in more than one class: {sorted(dup)[:10]}.")
        seen.update(ids)
        ranked = sorted(ids, key=lambda i: id_rank_key(dataset, version, i))
        start = 0
        for split, count in split_counts(len(ranked), fractions).items():
            out[split].extend(ranked[start : start + count])
            start += count
    return {s: sorted(v) for s, v in out.items()}


@dataclass(frozen=True)
class SplitManifest:
    """The sorted sample ids of every split of one dataset at one split version.

    Attributes:
        dataset: dataset name, e.g. ``"bijie"``.
        version: split version, e.g. ``"v1"``.
        splits: split name to sorted ids.
    """

    dataset: str
    version: str
    splits: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        normalised = {s: tuple(sorted(self.splits.get(s, ()))) for s in SPLITS}
        extra = set(self.splits) - set(SPLITS)
        if extra:
            raise ConfigError(f"Unknown split names {sorted(extra)}; valid: {list(SPLITS)}.")
        counts: dict[str, int] = {}
        for ids in normalised.values():
            for i in ids:
                counts[i] = counts.get(i, 0) + 1
        dup = sorted(i for i, c in counts.items() if c > 1)
        if dup:
            raise ConfigError(f"Sample ids in more than one split: {dup[:10]}.")
        object.__setattr__(self, "splits", normalised)

    def ids(self, split: str) -> tuple[str, ...]:
        """The sorted ids of ``split``."""
        return self.splits[check_split(split)]

    def split_of(self, sample_id: str) -> str:
        """The split holding ``sample_id``."""
        for s, ids in self.splits.items():
            if sample_id in ids:
                return s
        raise KeyError(sample_id)

    def to_dict(self) -> dict[str, object]:
        """The canonical content that is hashed."""
        return {
            "dataset": self.dataset,
            "version": self.version,
            "splits": {s: list(self.splits[s]) for s in SPLITS},
        }

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no whitespace, ASCII; the bytes behind :attr:`sha256`."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @cached_property
    def sha256(self) -> str:
        """SHA-256 hex digest of :meth:`to_json`, cited by every result and submission."""
        return hashlib.sha256(self.to_json().encode("ascii")).hexdigest()

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> SplitManifest:
        """Inverse of :meth:`to_dict`."""
        splits = data["splits"]
        assert isinstance(splits, Mapping)
        return cls(str(data["dataset"]), str(data["version"]), splits)

    def counts(self) -> dict[str, int]:
        """Number of ids per split."""
        return {s: len(v) for s, v in self.splits.items()}
