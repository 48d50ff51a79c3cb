"""Validate a Hub build or snapshot, fully offline.

``landbench hub validate OUT`` checks, in order:

1. the card has no leftover placeholder and parses;
2. every file in ``SHA256SUMS`` (shards, build record) matches, and no unlisted shard exists;
3. the card agrees with the build: ``configs``/``data_files`` name exactly the shards, the
   ``dataset_info`` features and split sizes match, and the card cites the manifest SHA-256;
4. every config and split loads with ``datasets.load_dataset(<absolute path>, config,
   split=...)``, with the recorded number of rows and the manifest's ids in order, and its images
   decode (RGB PNG, float32 TIFF, {0, 1} mask; or the multi-band float32 array);
5. every sample equals the raw loader's bit for bit, when the raw data is at hand (``raw_root``
   given or recorded at build time; always for generated datasets such as ``synth``).
"""

from __future__ import annotations

import inspect
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from landbench.core.errors import DatasetNotFoundError, InvalidDataError
from landbench.datasets.hub_errors import CardMismatchError
from landbench.datasets.hub_format import (
    CARD_FILE,
    decode_row,
    read_record,
    record_features,
    verify_checksums,
)
from landbench.datasets.hub_reader import load_split
from landbench.datasets.registry import dataset_class
from landbench.datasets.splits import SPLITS, SplitManifest
from landbench.hub import cards
from landbench.hub.build import SOURCE_FILE


@dataclass
class ValidationReport:
    """What :func:`validate` checked.

    Attributes:
        folder: the validated folder.
        dataset: dataset name.
        manifest_sha256: the split manifest's SHA-256.
        split_counts: rows per split, as loaded by ``datasets``.
        files_verified: files whose SHA-256 matched.
        raw_compared: samples compared bit for bit with the raw loader (0 if skipped).
        raw_root: the raw folder compared against, if any.
        notes: what was skipped and why.
    """

    folder: Path
    dataset: str
    manifest_sha256: str
    split_counts: dict[str, int] = field(default_factory=dict)
    files_verified: int = 0
    raw_compared: int = 0
    raw_root: str | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few human-readable lines."""
        counts = ", ".join(f"{s} {n}" for s, n in self.split_counts.items())
        lines = [
            f"{self.folder}: {self.dataset} OK (manifest sha256 {self.manifest_sha256})",
            f"  splits loaded with datasets.load_dataset: {counts}",
            f"  checksums verified: {self.files_verified} file(s)",
        ]
        if self.raw_compared:
            source = self.raw_root or "regenerated from the recorded options"
            lines.append(f"  samples identical to the raw loader: {self.raw_compared} ({source})")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def validate(
    folder: str | os.PathLike[str],
    raw_root: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    compare_raw: bool = True,
) -> ValidationReport:
    """Validate a build/snapshot folder offline; see the module docstring for the checks.

    Args:
        folder: the build or snapshot folder.
        raw_root: the raw dataset folder to compare every sample against (default: the one
            recorded at build time, if it still exists).
        cache_dir: the ``datasets`` cache to use (default: ``HF_DATASETS_CACHE``).
        compare_raw: set False to skip the sample-by-sample comparison.

    Returns:
        A :class:`ValidationReport`.

    Raises:
        CardMismatchError: on a placeholder or a card that disagrees with the shards.
        ShardChecksumError: on a missing, extra or modified file.
        InvalidDataError: on a sample that differs from the raw loader's or does not decode.
        DatasetNotFoundError: if ``folder`` or an explicitly given ``raw_root`` is missing.
    """
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise DatasetNotFoundError(f"{folder} does not exist; pass a `landbench hub build` folder.")
    card_text = (
        (folder / CARD_FILE).read_text(encoding="utf-8") if (folder / CARD_FILE).is_file() else ""
    )
    left = cards.find_placeholders(card_text)
    if left:
        raise CardMismatchError(
            f"{folder / CARD_FILE} still holds placeholder(s) {sorted(set(left))[:5]}; rebuild "
            "the card or fill them in."
        )
    card = cards.read_card(folder)
    checksums = verify_checksums(folder)
    record = read_record(folder)
    report = ValidationReport(folder, record["dataset"], record["manifest_sha256"])
    report.files_verified = len(checksums)
    manifest = SplitManifest.from_dict(record["manifest"])
    if manifest.sha256 != record["manifest_sha256"]:
        raise InvalidDataError(
            f"{folder}: the recorded manifest hashes to {manifest.sha256}, not the recorded "
            f"{record['manifest_sha256']}."
        )
    _check_card(folder, card, record, checksums)
    raw = _raw_datasets(folder, record, raw_root) if compare_raw else None
    if raw is None:
        report.notes.append(
            "raw comparison skipped: pass --raw-root to compare every sample with the raw loader"
            if compare_raw
            else "raw comparison disabled"
        )
    else:
        report.raw_root = raw.pop("__root__", None)
    for split in [s for s in SPLITS if s in record["splits"]]:
        info = record["splits"][split]
        report.split_counts[split] = _check_split(
            folder, record, manifest, split, info, cache_dir, None if raw is None else raw[split]
        )
        if raw is not None:
            report.raw_compared += report.split_counts[split]
    return report


def _check_card(folder: Path, card: Any, record: dict[str, Any], checksums: dict[str, str]) -> None:
    """The card's configs, data_files, features and split sizes against the build."""
    from datasets.info import DatasetInfosDict

    path = folder / CARD_FILE
    data = card.data
    configs = data.get("configs") or []
    config = record["config_name"]
    entry = next((c for c in configs if c.get("config_name") == config), None)
    if entry is None:
        raise CardMismatchError(f"{path} has no config {config!r} in its `configs` metadata.")
    card_files = {}
    for item in entry.get("data_files") or []:
        paths = item.get("path")
        card_files[item.get("split")] = [paths] if isinstance(paths, str) else list(paths or [])
    built = {s: list(i["files"]) for s, i in record["splits"].items()}
    if card_files != built:
        raise CardMismatchError(
            f"{path}: config {config!r} lists data_files {card_files}, but the build holds "
            f"{built}. Re-render the card (rebuild)."
        )
    unlisted = sorted(f for files in built.values() for f in files if f not in checksums)
    if unlisted:
        raise CardMismatchError(f"{path} names shards that SHA256SUMS does not list: {unlisted}.")
    try:
        infos = DatasetInfosDict.from_dataset_card_data(data)
    except Exception as err:  # malformed dataset_info YAML
        raise CardMismatchError(f"{path}: unreadable dataset_info ({err}).") from None
    info = infos.get(config)
    if info is None or info.splits is None:
        raise CardMismatchError(f"{path} has no dataset_info with splits for config {config!r}.")
    for split, split_info in record["splits"].items():
        card_n = info.splits[split].num_examples if split in info.splits else None
        if card_n != split_info["num_examples"]:
            raise CardMismatchError(
                f"{path}: dataset_info says the {split} split has {card_n} examples, but the "
                f"shards hold {split_info['num_examples']}."
            )
    expected = record_features(record)
    if info.features != expected:
        raise CardMismatchError(
            f"{path}: dataset_info features {list(info.features or {})} differ from the build's "
            f"{list(expected)}."
        )
    if record["manifest_sha256"] not in card.text:
        raise CardMismatchError(
            f"{path} does not cite the build's manifest sha256 {record['manifest_sha256']}."
        )


def _raw_datasets(
    folder: Path, record: dict[str, Any], raw_root: str | os.PathLike[str] | None
) -> dict[str, Any] | None:
    """The raw datasets to compare with, or None when the raw data is not at hand."""
    cls = dataset_class(record["dataset"])
    kwargs = dict(record.get("dataset_kwargs") or {})
    takes_root = "root" in inspect.signature(cls.__init__).parameters
    root: str | None = None
    if raw_root is not None:
        if not Path(raw_root).is_dir():
            raise DatasetNotFoundError(f"Raw folder {raw_root} does not exist.")
        root = str(Path(raw_root).resolve())
    elif (folder / SOURCE_FILE).is_file():
        recorded = json.loads((folder / SOURCE_FILE).read_text(encoding="utf-8")).get("raw_root")
        if recorded is not None and not Path(recorded).is_dir():
            return None
        root = recorded
    if takes_root and root is None and _raw_root_required(cls):
        return None
    if root is not None:
        kwargs["root"] = root
    out: dict[str, Any] = {s: cls(split=s, **kwargs) for s in record["splits"]}
    out["__root__"] = root
    return out


def _raw_root_required(cls: type) -> bool:
    """Whether ``root`` names raw files (default set) rather than an optional cache (None)."""
    return inspect.signature(cls.__init__).parameters["root"].default is not None


def _check_split(
    folder: Path,
    record: dict[str, Any],
    manifest: SplitManifest,
    split: str,
    info: dict[str, Any],
    cache_dir: str | os.PathLike[str] | None,
    raw: Any,
) -> int:
    """Load one split with ``datasets`` and check it row by row; returns its row count."""
    import datasets

    config = record["config_name"]
    try:
        decoded = datasets.load_dataset(
            str(folder),
            config,
            split=split,
            cache_dir=None if cache_dir is None else str(cache_dir),
        )
    except Exception as err:  # datasets' own split-size verification and read errors
        raise CardMismatchError(
            f"datasets.load_dataset({str(folder)!r}, {config!r}, split={split!r}) failed: {err}"
        ) from None
    if decoded.num_rows != info["num_examples"]:
        raise CardMismatchError(
            f"{folder}: the {split} split loads {decoded.num_rows} rows; the card and build "
            f"record say {info['num_examples']}."
        )
    if decoded.num_rows:
        first = decoded[0]
        if record.get("image_shape") is None:
            modes = (first["image"].mode, first["dem"].mode, first["mask"].mode)
            if modes != ("RGB", "F", "L"):
                raise InvalidDataError(f"{folder}: {split} images decode to modes {modes}.")
        else:
            shape = np.asarray(first["image"], dtype=np.float32).shape
            if list(shape) != list(record["image_shape"]) or first["mask"].mode != "L":
                raise InvalidDataError(
                    f"{folder}: {split} images decode to shape {shape} and masks to mode "
                    f"{first['mask'].mode!r}; the record says {record['image_shape']} and 'L'."
                )
    data = load_split(folder, config, split, cache_dir=cache_dir)
    ids = tuple(data["id"])
    if ids != manifest.ids(split):
        raise InvalidDataError(
            f"{folder}: the {split} shards' ids differ from the recorded manifest; rebuild."
        )
    if raw is not None and raw.manifest.sha256 != record["manifest_sha256"]:
        raise InvalidDataError(
            f"The raw data's split manifest ({raw.manifest.sha256}) differs from the build's "
            f"({record['manifest_sha256']}): the raw folder holds other samples than the build."
        )
    georef = record.get("georef_types")
    positives = 0
    for index in range(data.num_rows):
        row = data[index]
        sample = decode_row(row, georef)
        mask = sample["mask"].numpy()
        if mask.max(initial=0) > 1:
            raise InvalidDataError(f"{folder}: sample {row['id']!r} has mask values above 1.")
        if not row["is_landslide"] and mask.any():
            raise InvalidDataError(
                f"{folder}: sample {row['id']!r} is not a landslide tile but its mask is not empty."
            )
        positives += bool(row["is_landslide"])
        if raw is not None:
            _compare(sample, raw[index], folder)
    if positives != info["num_landslide"]:
        raise CardMismatchError(
            f"{folder}: the {split} split holds {positives} landslide samples; the card and "
            f"record say {info['num_landslide']}."
        )
    return data.num_rows


def _compare(hub: dict[str, Any], raw: dict[str, Any], folder: Path) -> None:
    """Raise unless the Hub sample equals the raw sample bit for bit."""
    sample_id = raw["id"]
    if hub["id"] != sample_id:
        raise InvalidDataError(f"{folder}: row {hub['id']!r} stands where {sample_id!r} belongs.")
    for key in ("image", "mask"):
        a, b = np.asarray(hub[key]), np.asarray(raw[key])
        if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
            raise InvalidDataError(
                f"{folder}: sample {sample_id!r} {key} differs from the raw loader's "
                f"({a.dtype} {a.shape} vs {b.dtype} {b.shape})."
            )
    for key in ("crs", "transform"):
        if key in raw and raw[key] is not None and hub.get(key) != raw[key]:
            raise InvalidDataError(
                f"{folder}: sample {sample_id!r} {key} {hub.get(key)!r} differs from the raw "
                f"loader's {raw[key]!r}."
            )
