"""Load a landbench dataset from a local Hugging Face snapshot (a Parquet build).

``landbench.load("bijie", split="test", source="hub", root="/abs/path/to/snapshot")`` returns a
:class:`HubLandslideDataset`: a TorchGeo ``NonGeoDataset`` (a
:class:`~landbench.datasets.base.LandslideDataset`, so ``manifest``, ``bands`` and ``plot`` work)
whose samples are bit-identical to the raw loader's, read through ``datasets.load_dataset``.

``root`` may be

* a build folder or a plain snapshot (a download with ``local_dir=``, a git clone), holding
  ``README.md``, ``landbench_build.json``, ``SHA256SUMS`` and ``data/``; or
* a repository folder of the Hugging Face cache (``.../datasets--ORG--NAME``), where
  ``revision`` (branch, tag or commit) picks one of its snapshots.

Nothing is downloaded unless ``repo_id`` is given instead of ``root``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from landbench.core.errors import ConfigError, DatasetNotFoundError, InvalidDataError
from landbench.datasets.base import ALL_BANDS, LandslideDataset
from landbench.datasets.hub_errors import (
    HubConnectionError,
    RevisionNotFoundError,
    is_connection_error,
)
from landbench.datasets.hub_format import (
    CARD_FILE,
    decode_row,
    read_pushes,
    read_record,
    verify_checksums,
)
from landbench.datasets.splits import SplitManifest


def local_revisions(folder: Path) -> dict[str, str]:
    """Names under which a build folder is known: the tags and commits it was pushed as.

    Returns:
        Revision name (tag or commit SHA) -> what it is.
    """
    names: dict[str, str] = {}
    for push in read_pushes(folder):
        names[push["commit_sha"]] = f"commit of {push['repo_id']}"
        if push.get("tag"):
            names[push["tag"]] = f"tag of {push['repo_id']} at {push['commit_sha']}"
    return names


def _match_revision(revision: str, names: Sequence[str]) -> bool:
    if revision in names:
        return True
    # A commit may be named by a unique prefix of at least 7 hex digits, as in git.
    hits = [n for n in names if len(revision) >= 7 and n.startswith(revision)]
    return len(hits) == 1


def resolve_snapshot(root: str | os.PathLike[str], revision: str | None = None) -> Path:
    """Find the local snapshot folder of ``root`` at ``revision``.

    Args:
        root: a build/snapshot folder or a Hugging Face cache repository folder.
        revision: None for the folder itself (or ``main`` in a cache), else a tag, branch or
            commit SHA (prefix of at least 7 digits for a commit).

    Returns:
        The folder holding ``README.md`` and ``data/``.

    Raises:
        DatasetNotFoundError: if ``root`` is neither kind of folder.
        RevisionNotFoundError: if ``revision`` is not present locally.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetNotFoundError(
            f"{root} does not exist; pass the absolute path of a local snapshot or build."
        )
    if (root / "snapshots").is_dir():
        return _resolve_cache_repo(root, revision)
    if not (root / CARD_FILE).is_file():
        raise DatasetNotFoundError(
            f"{root} holds neither a dataset card ({CARD_FILE}) nor Hugging Face cache "
            "snapshots; pass a folder made by `landbench hub build`, a downloaded snapshot, or "
            "a cache folder datasets--ORG--NAME."
        )
    if revision is None:
        return root
    names = local_revisions(root)
    if _match_revision(revision, list(names)):
        return root
    known = ", ".join(sorted(names)) or "none recorded (it was never pushed)"
    raise RevisionNotFoundError(
        f"Revision {revision!r} is not in the local snapshot {root}; its known revisions: "
        f"{known}. Download that revision (huggingface_hub.snapshot_download(repo_id, "
        "repo_type='dataset', revision=...)) or pass revision=None."
    )


def _resolve_cache_repo(repo_folder: Path, revision: str | None) -> Path:
    """Resolve ``revision`` in a cache folder ``datasets--ORG--NAME`` with huggingface_hub."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    parts = repo_folder.name.split("--")
    if len(parts) < 3 or parts[0] != "datasets":
        raise DatasetNotFoundError(
            f"{repo_folder} is not a dataset repository folder of the Hugging Face cache "
            "(expected a name like datasets--ORG--NAME)."
        )
    repo_id = "/".join(parts[1:])
    try:
        path = snapshot_download(
            repo_id,
            repo_type="dataset",
            revision=revision,
            cache_dir=repo_folder.parent,
            local_files_only=True,
        )
    except (LocalEntryNotFoundError, FileNotFoundError, OSError) as err:
        refs = sorted(p.name for p in (repo_folder / "refs").glob("*") if p.is_file())
        snaps = sorted(p.name for p in (repo_folder / "snapshots").iterdir())
        raise RevisionNotFoundError(
            f"Revision {revision or 'main'!r} of {repo_id} is not in the local cache "
            f"{repo_folder} (refs: {refs or 'none'}; snapshots: {snaps or 'none'}). Download "
            f"it first, online: huggingface_hub.snapshot_download({repo_id!r}, "
            f"repo_type='dataset', revision={revision!r}). ({err})"
        ) from None
    return Path(path)


def download_snapshot(
    repo_id: str, revision: str | None = None, cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Download (or reuse from the cache) a dataset repository snapshot.

    Raises:
        HubConnectionError: if the Hub cannot be reached and the revision is not cached.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(
            snapshot_download(repo_id, repo_type="dataset", revision=revision, cache_dir=cache_dir)
        )
    except LocalEntryNotFoundError as err:  # offline mode and nothing cached
        raise HubConnectionError(
            f"{repo_id} (revision {revision or 'main'}) is not in the local Hugging Face cache "
            f"and the Hub cannot be reached ({err}). Connect and unset HF_HUB_OFFLINE, or pass "
            "root= the absolute path of a local snapshot."
        ) from None
    except Exception as err:
        if is_connection_error(err):
            raise HubConnectionError(
                f"Cannot download {repo_id} (revision {revision or 'main'}) from the Hugging "
                f"Face Hub: {err}. Connect to the network, unset HF_HUB_OFFLINE, or pass "
                "root= the absolute path of a local snapshot."
            ) from None
        raise


class HubLandslideDataset(LandslideDataset):
    """A landbench dataset read from a local Hub snapshot (Parquet shards) with ``datasets``.

    Samples equal the raw loader's bit for bit: ``image`` float32 ``[C, H, W]`` (R, G, B raw
    0-255, DEM raw units), ``mask`` int64 ``[H, W]`` in {0, 1}, ``id``, plus ``crs`` and
    ``transform`` for georeferenced datasets.

    Args:
        root: a build/snapshot folder or a Hugging Face cache repository folder (absolute path).
        split: ``"train"``, ``"val"`` or ``"test"``.
        bands: bands to return, in order (aliases accepted), from the build's bands (the
            record's ``bands``: R, G, B, DEM for classic builds); None means all of them.
        transforms: a function applied to each sample dict, or None.
        revision: tag, branch or commit to use; must be present locally.
        name: the dataset the snapshot must hold (e.g. ``"bijie"``), or None to accept any.
        checksum: verify every shard's SHA-256 against ``SHA256SUMS`` before use.
        cache_dir: where ``datasets`` keeps its Arrow cache (default: ``HF_DATASETS_CACHE``).

    Raises:
        DatasetNotFoundError: if ``root`` is not a snapshot.
        RevisionNotFoundError: if ``revision`` is not present locally.
        ShardChecksumError: if a shard was modified (with ``checksum=True``).
        InvalidDataError: if the shards disagree with the recorded split manifest.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        bands: Sequence[str] | None = None,
        transforms: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        revision: str | None = None,
        name: str | None = None,
        checksum: bool = True,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.root = resolve_snapshot(root, revision)
        self.revision = revision
        record = read_record(self.root)
        self.all_bands = tuple(record.get("bands", ALL_BANDS))
        super().__init__(split=split, bands=bands, transforms=transforms)
        if name is not None and record["dataset"] != name:
            raise ConfigError(
                f"{self.root} holds the {record['dataset']!r} dataset, not {name!r}; pass the "
                f"snapshot of {name!r} or load name={record['dataset']!r}."
            )
        if checksum:
            _verify_once(self.root)
        self.record = record
        self.name = record["dataset"]
        self.split_version = record["split_version"]
        self._manifest = SplitManifest.from_dict(record["manifest"])
        if self._manifest.sha256 != record["manifest_sha256"]:
            raise InvalidDataError(
                f"{self.root / 'landbench_build.json'}: its manifest hashes to "
                f"{self._manifest.sha256}, not the recorded {record['manifest_sha256']}."
            )
        self._data = load_split(self.root, record["config_name"], split, cache_dir=cache_dir)
        shard_ids = tuple(self._data["id"])
        if shard_ids != self.ids:
            raise InvalidDataError(
                f"The {split} shards of {self.root} hold {len(shard_ids)} ids that differ from "
                f"the manifest's {len(self.ids)}; the snapshot is inconsistent: rebuild it."
            )
        self._georef = record.get("georef_types")

    @property
    def manifest(self) -> SplitManifest:
        """The split manifest recorded at build time (its sha256 is the one to cite)."""
        return self._manifest

    def _load(self, sample_id: str) -> dict[str, Any]:
        return decode_row(self._data[self.index_of(sample_id)], self._georef)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Return sample ``index`` of the split (rows are stored in manifest order).

        Returns:
            ``{"image": float32 [C, H, W], "mask": int64 [H, W], "id": str, ...}``.
        """
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        sample = decode_row(self._data[index], self._georef)
        if self.band_indices != list(range(len(self.all_bands))):
            sample["image"] = sample["image"][self.band_indices]
        if self.transforms is not None:
            sample = self.transforms(sample)
        return sample


_VERIFIED: set[tuple[str, tuple[tuple[str, int, int], ...]]] = set()


def _verify_once(folder: Path) -> None:
    """Verify ``SHA256SUMS`` once per process for unchanged files (size and mtime).

    A data module opens train, val and test of one snapshot; hashing gigabytes of shards three
    times would add seconds to every start without checking anything new.
    """
    files = sorted(p for p in folder.rglob("*") if p.is_file() and ".cache" not in p.parts)
    key = (
        str(folder.resolve()),
        tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files),
    )
    if key not in _VERIFIED:
        verify_checksums(folder)
        _VERIFIED.add(key)


def load_split(
    folder: Path, config: str, split: str, cache_dir: str | os.PathLike[str] | None = None
) -> Any:
    """``datasets.load_dataset`` of one split of a local snapshot, with images left undecoded.

    Images stay as ``{"bytes", "path"}``: landbench decodes them itself into tensors, which
    skips building PIL objects for every row.
    """
    import datasets

    ds = datasets.load_dataset(
        str(Path(folder).resolve()),
        config,
        split=split,
        cache_dir=None if cache_dir is None else str(cache_dir),
    )
    if "dem" not in ds.features:  # multi-band: the image array as numpy, the mask undecoded
        ds = ds.cast_column("mask", datasets.Image(decode=False))
        return ds.with_format("numpy", columns=["image"], output_all_columns=True)
    for column in ("image", "dem", "mask"):
        ds = ds.cast_column(column, datasets.Image(decode=False))
    return ds


def load_hub_dataset(
    name: str,
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    revision: str | None = None,
    repo_id: str | None = None,
    **kwargs: Any,
) -> HubLandslideDataset:
    """Load dataset ``name`` from a local Hub snapshot (``landbench.load(..., source="hub")``).

    Args:
        name: dataset name the snapshot must hold.
        split: ``"train"``, ``"val"`` or ``"test"``.
        root: absolute path of a local snapshot/build, or of a cache folder
            ``datasets--ORG--NAME``.
        revision: tag, branch or commit; must exist locally under ``root``.
        repo_id: instead of ``root``, a Hub dataset repository to download (needs network
            unless the revision is cached).
        **kwargs: passed to :class:`HubLandslideDataset` (``bands``, ``transforms``,
            ``checksum``, ``cache_dir``).

    Raises:
        ConfigError: if neither ``root`` nor ``repo_id`` is given.
    """
    if root is None:
        if repo_id is None:
            raise ConfigError(
                f"Loading {name!r} with source='hub' needs root= (the absolute path of a local "
                "snapshot or build) or repo_id= (a Hugging Face dataset repository)."
            )
        root = download_snapshot(repo_id, revision, kwargs.pop("hub_cache_dir", None))
        revision = None
    return HubLandslideDataset(root, split=split, revision=revision, name=name, **kwargs)
