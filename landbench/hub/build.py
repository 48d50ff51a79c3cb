"""Build a Hugging Face dataset folder (Parquet shards, card, checksums) from a raw dataset.

``landbench hub build --dataset bijie --root data/bijie --out build/bijie`` reads every split
through the raw loader, encodes each sample as one Parquet row (see
:mod:`landbench.datasets.hub_format`), writes small row groups into shards of at most
``max_shard_bytes``, and adds the build record, ``SHA256SUMS`` and the rendered dataset card.
The folder is assembled in a temporary sibling and renamed into place only when complete, so a
failed build leaves nothing behind. Building twice from the same files gives byte-identical
shards. Datasets with bands other than R, G, B, DEM (Landslide4Sense's 14 bands) are stored as
multi-band builds: one float32 ``[C, H, W]`` array per row (see
:mod:`landbench.datasets.hub_format`).
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from landbench._version import __version__
from landbench.core.errors import ConfigError, InvalidDataError
from landbench.core.io import atomic_directory
from landbench.datasets.hub_errors import IncompleteDataError
from landbench.datasets.hub_format import (
    BASE_COLUMNS,
    CARD_FILE,
    CHECKSUM_FILE,
    DATA_DIR,
    FORMAT_VERSION,
    GEO_COLUMNS,
    MAX_SHARD_BYTES,
    MULTIBAND_COLUMNS,
    RECORD_FILE,
    RGB_DEM_BANDS,
    ROWS_PER_GROUP,
    dump_record,
    encode_sample,
    format_checksums,
    hub_features,
    sha256_file,
    shard_name,
)
from landbench.datasets.registry import class_path, dataset_class
from landbench.datasets.splits import SPLITS
from landbench.hub import cards

logger = logging.getLogger(__name__)

SOURCE_FILE = "landbench_source.json"
"""Local-only note of the raw folder a build came from (not pushed: it names local paths)."""

RESERVED_KWARGS: frozenset[str] = frozenset({"split", "root", "bands", "transforms"})
PARQUET_COMPRESSION = "zstd"  # PNG bytes are already compressed; zstd shrinks the float TIFFs


def check_dataset_kwargs(cls: type, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Validate dataset keyword arguments against the dataset class's signature.

    Raises:
        ConfigError: on a reserved or unknown key, or a value that cannot be recorded as JSON.
    """
    kwargs = dict(kwargs)
    reserved = sorted(RESERVED_KWARGS.intersection(kwargs))
    if reserved:
        raise ConfigError(f"Dataset option(s) {reserved} are set by the build itself; drop them.")
    params = inspect.signature(cls.__init__).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        valid = sorted(set(params) - RESERVED_KWARGS - {"self"})
        unknown = sorted(set(kwargs) - set(valid))
        if unknown:
            raise ConfigError(
                f"Unknown option(s) {unknown} for {cls.__name__}; valid options: {valid}."
            )
    try:
        json.dumps(kwargs)
    except TypeError as err:
        raise ConfigError(
            f"Dataset options must be JSON values (numbers, strings): {err}."
        ) from None
    return kwargs


def _open_splits(
    name: str, root: str | os.PathLike[str] | None, kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    cls = dataset_class(name)
    extra = dict(kwargs)
    if root is not None:
        if "root" not in inspect.signature(cls.__init__).parameters:
            raise ConfigError(f"{cls.__name__} has no raw folder; build it without --root.")
        extra["root"] = os.fspath(root)
    return {split: cls(split=split, **extra) for split in SPLITS}


def check_complete(dataset: Any, allow_incomplete: bool) -> list[str]:
    """Check the raw folder against the official release with the dataset's own ``verify``.

    ``verify(root)`` (e.g. :meth:`landbench.datasets.bijie.Bijie.verify`) reads every file and
    lists missing, extra and invalid files and per-class counts that differ from the official
    ones. Generated datasets (no ``verify``) are complete by construction.

    Returns:
        The problems found (empty when complete).

    Raises:
        IncompleteDataError: if there are problems and ``allow_incomplete`` is False.
    """
    verify = getattr(type(dataset), "verify", None)
    root = getattr(dataset, "root", None)
    if not callable(verify) or root is None:
        return []
    problems = [str(p) for p in verify(root).problems]
    if problems and not allow_incomplete:
        shown = "; ".join(problems[:3]) + (
            f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        )
        raise IncompleteDataError(
            f"{root} is not a complete copy of {dataset.name}: {shown}. Re-download or "
            f"re-import the dataset (see `landbench datasets verify {dataset.name} --root "
            f"{root}`), or pass --allow-incomplete to build a copy labelled partial."
        )
    return problems


def _is_landslide_id(dataset: Any, sample_id: str) -> bool | None:
    fn = getattr(dataset, "is_landslide", None)
    return bool(fn(sample_id)) if callable(fn) else None


def _is_landslide(dataset: Any, sample: Mapping[str, Any]) -> bool:
    """The sample's class: the dataset's own label where it has one, else a non-empty mask."""
    label = _is_landslide_id(dataset, sample["id"])
    return bool(sample["mask"].any()) if label is None else label


def _georef_types(sample: Mapping[str, Any]) -> str | None:
    crs = sample.get("crs")
    if crs is None:
        return None
    return "plain" if isinstance(crs, str) else "rasterio"


def build(
    name: str,
    out: str | os.PathLike[str],
    root: str | os.PathLike[str] | None = None,
    dataset_kwargs: Mapping[str, Any] | None = None,
    *,
    allow_incomplete: bool = False,
    overwrite: bool = False,
    card_template: str | os.PathLike[str] | None = None,
    max_shard_bytes: int = MAX_SHARD_BYTES,
    rows_per_group: int = ROWS_PER_GROUP,
    progress: bool = False,
) -> dict[str, Any]:
    """Build the Hub folder of one dataset.

    Args:
        name: dataset name (``bijie``, ``hokkaido``, ``synth``).
        out: the folder to create (must not exist unless ``overwrite``).
        root: the raw dataset folder (None for generated datasets such as ``synth``).
        dataset_kwargs: options of the dataset class (e.g. ``{"preset": "easy", "n": 100}``).
        allow_incomplete: build from a raw folder that lacks samples (the card says so).
        overwrite: replace an existing ``out`` once the new build is complete.
        card_template: a card template overriding ``datasets_cards/<name>.md``.
        max_shard_bytes: encoded bytes after which a new shard starts.
        rows_per_group: rows per Parquet row group.
        progress: show a progress bar.

    Returns:
        The build record (also written to ``out/landbench_build.json``).

    Raises:
        ConfigError: on an unknown dataset or option.
        IncompleteDataError: if the raw folder is incomplete and ``allow_incomplete`` is False.
        InvalidDataError: if a sample cannot be stored exactly.
        LandbenchError: if ``out`` exists and ``overwrite`` is False.
    """
    if rows_per_group < 1 or max_shard_bytes < 1:
        raise ConfigError("rows_per_group and max_shard_bytes must be positive.")
    kwargs = check_dataset_kwargs(dataset_class(name), dataset_kwargs or {})
    template = cards.template_path(name, card_template)
    cards.check_template(template)  # fail before reading any data, not after writing shards
    out = Path(out)
    if out.exists() and not overwrite:
        raise ConfigError(f"{out} already exists; remove it, choose another --out or --overwrite.")
    splits = _open_splits(name, root, kwargs)
    first = splits["train"]
    problems = check_complete(first, allow_incomplete)
    manifest = first.manifest
    probe = next((ds for ds in splits.values() if len(ds)), None)
    if probe is None:
        raise InvalidDataError(f"{name} has no samples in {root}; nothing to build.")
    first_sample = probe[0]
    georef = _georef_types(first_sample)
    bands = tuple(probe.bands)
    # Bands other than R, G, B, DEM (Landslide4Sense, folder datasets) go into one float32 array.
    image_shape = None if bands == RGB_DEM_BANDS else list(first_sample["image"].shape)
    columns = (BASE_COLUMNS if image_shape is None else MULTIBAND_COLUMNS) + (
        GEO_COLUMNS if georef else ()
    )
    record: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "landbench_version": __version__,
        "dataset": name,
        "config_name": name,
        "dataset_class": class_path(name),
        "dataset_kwargs": kwargs,
        "complete": not problems,
        "incomplete_problems": problems[:20],
        "num_incomplete_problems": len(problems),
        "split_version": manifest.version,
        "manifest_sha256": manifest.sha256,
        "manifest": manifest.to_dict(),
        "columns": list(columns),
        "bands": list(bands),
        "image_shape": image_shape,
        "georeferenced": georef is not None,
        "georef_types": georef,
        "dem_nodata": _dem_nodata(splits.values()),
        "dataset_config": _dataset_config(first),
        "parquet": {"compression": PARQUET_COMPRESSION, "rows_per_group": rows_per_group},
        "splits": {},
    }
    features = hub_features(georef is not None, image_shape)
    with atomic_directory(out, overwrite=overwrite) as tmp:
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp makes it private; a build is meant to be shared
        (tmp / DATA_DIR).mkdir()
        for split, dataset in splits.items():
            if tuple(dataset.ids) != manifest.ids(split):
                raise InvalidDataError(f"{name}: the {split} split disagrees with the manifest.")
            record["splits"][split] = _write_split(
                dataset, split, tmp, features, georef is not None, rows_per_group,
                max_shard_bytes, progress, image_shape,
            )  # fmt: skip
        record["num_examples"] = sum(s["num_examples"] for s in record["splits"].values())
        record["download_size"] = sum(
            (tmp / f).stat().st_size for s in record["splits"].values() for f in s["files"]
        )
        (tmp / RECORD_FILE).write_text(dump_record(record), encoding="utf-8")
        checksums = {f: sha256_file(tmp / f) for s in record["splits"].values() for f in s["files"]}
        checksums[RECORD_FILE] = sha256_file(tmp / RECORD_FILE)
        (tmp / CHECKSUM_FILE).write_text(format_checksums(checksums), encoding="utf-8")
        (tmp / CARD_FILE).write_text(cards.render_card(record, template), encoding="utf-8")
        used_root = getattr(first, "root", None)
        source = {"raw_root": None if used_root is None else str(Path(used_root).resolve())}
        (tmp / SOURCE_FILE).write_text(dump_record(source), encoding="utf-8")
    logger.info("Built %s: %d samples in %s", name, record["num_examples"], out)
    return record


def _dataset_config(dataset: Any) -> dict[str, Any] | None:
    """The settings a generated dataset reports (``LandslideSynth.config``), for provenance."""
    config = getattr(dataset, "config", None)
    if not isinstance(config, Mapping):
        return None
    try:
        return json.loads(json.dumps(dict(config)))
    except TypeError:
        return None


def _dem_nodata(datasets: Any) -> float | str | None:
    """The DEM nodata value: the dataset's ``dem_nodata``, else the DEM GeoTIFFs' nodata tag.

    Datasets that index their files (``files[id].dem``) are read for the tag (headers only).

    Returns:
        The value (NaN as ``"nan"``), or None when none is declared.
    """
    values: set[float] = set()
    for dataset in datasets:
        declared = getattr(dataset, "dem_nodata", None)
        if declared is not None:
            values.add(float(declared))
            continue
        files = getattr(dataset, "files", None)
        if not isinstance(files, Mapping):
            continue
        for sample_id in dataset.ids:
            path = Path(getattr(files[sample_id], "dem", ""))
            if path.suffix.lower() in (".tif", ".tiff"):
                import rasterio

                with rasterio.open(path) as src:
                    if src.nodata is not None:
                        values.add(float(src.nodata))
    if not values:
        return None
    if len(values) > 1:
        raise InvalidDataError(
            f"The DEM files declare different nodata values {sorted(values)}; the Hub format "
            "documents one. Rewrite the DEMs with one nodata value."
        )
    value = values.pop()
    return "nan" if value != value else value


def _write_split(
    dataset: Any,
    split: str,
    folder: Path,
    features: Any,
    georeferenced: bool,
    rows_per_group: int,
    max_shard_bytes: int,
    progress: bool,
    image_shape: list[int] | None = None,
) -> dict[str, Any]:
    """Encode one split into shards; returns its record entry."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from datasets.arrow_writer import TypedSequence
    from tqdm.auto import tqdm

    schema = features.arrow_schema
    parts: list[Path] = []
    writer: pq.ParquetWriter | None = None
    shard_bytes = num_bytes = positives = pixels = landslide_pixels = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal writer, shard_bytes, num_bytes
        if not batch:
            return
        columns = features.encode_batch({c: [row[c] for row in batch] for c in schema.names})
        # TypedSequence converts each column as datasets does (Array3D needs its extension type).
        arrays = [pa.array(TypedSequence(columns[c], type=features[c])) for c in schema.names]
        table = pa.Table.from_arrays(arrays, schema=schema)
        if writer is None:
            parts.append(folder / DATA_DIR / f".{split}-{len(parts):05d}.part")
            writer = pq.ParquetWriter(parts[-1], schema, compression=PARQUET_COMPRESSION)
        writer.write_table(table, row_group_size=rows_per_group)
        shard_bytes += table.nbytes
        num_bytes += table.nbytes
        batch.clear()
        if shard_bytes >= max_shard_bytes:
            writer.close()
            writer, shard_bytes = None, 0

    samples = tqdm(range(len(dataset)), desc=split, disable=not progress, leave=False)
    for index in samples:
        sample = dataset[index]
        label = _is_landslide(dataset, sample)
        positives += label
        pixels += sample["mask"].numel()
        landslide_pixels += int(sample["mask"].sum())
        batch.append(encode_sample(sample, label, georeferenced, image_shape))
        if len(batch) == rows_per_group:
            flush()
    flush()
    if writer is not None:
        writer.close()
    if not parts:  # an empty split still gets one (empty) shard, so every split loads
        parts.append(folder / DATA_DIR / f".{split}-00000.part")
        pq.write_table(schema.empty_table(), parts[-1], compression=PARQUET_COMPRESSION)
    files = []
    for index, part in enumerate(parts):
        files.append(shard_name(split, index, len(parts)))
        os.replace(part, folder / files[-1])
    return {
        "num_examples": len(dataset),
        "num_landslide": int(positives),
        "num_pixels": int(pixels),
        "num_landslide_pixels": int(landslide_pixels),
        "num_bytes": int(num_bytes),
        "files": files,
        "sha256": {f: sha256_file(folder / f) for f in files},
    }
