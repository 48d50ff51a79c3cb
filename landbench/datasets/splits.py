"""Versioned, citable splits as a pure function of sample ids.

A split assignment depends on nothing but the set of sample ids (and their class, for stratified
splits): not on file order, the operating system, or any random number generator. Each id is
ranked by the SHA-256 of ``"<dataset>/<version>/<id>"``; within each class the lowest-ranked ids
go to ``train``, the next to ``val``, the rest to ``test``, with exact per-class counts given by
the largest-remainder rounding of the fractions. The resulting manifest (sorted ids per split)
is serialised canonically and hashed; that SHA-256 is recorded by every result, submission,
weight file and citation.
"""

from __future__ import annotations

import hashlib
import json
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
        raise ConfigError(f"Split fractions must sum to 1, got {dict(fractions)}.")
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
