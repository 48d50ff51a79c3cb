"""The on-disk format of a landbench Hub build, shared by build, validate, push and load.

A build folder (the same files a Hub snapshot of the dataset repository holds)::

    OUT/
      README.md                                 the rendered dataset card (YAML front matter)
      data/<split>-00000-of-0000N.parquet       one or more Parquet shards per split
      landbench_build.json                      what was built from what (manifest, kwargs, ...)
      SHA256SUMS                                sha256 of every shard and of the build record,
                                                in ``sha256sum -c`` format

Each Parquet row is one sample:

============== ========================== ====================================================
column         type                       content
============== ========================== ====================================================
id             string                     the sample's stem
image          Image (PNG, 8-bit RGB)     R, G, B raw digital numbers 0-255, ``[H, W, 3]``
dem            Image (TIFF, float32 "F")  the DEM in the source's raw units, ``[H, W]``
mask           Image (PNG, 8-bit grey)    1 = landslide, 0 = background; all 0 on negatives
is_landslide   bool                       whether the sample is a landslide sample
crs            string (WKT)               only for georeferenced sources
transform      list of 6 float64          affine ``(a, b, c, d, e, f)``, georeferenced only
============== ========================== ====================================================

``datasets.load_dataset`` decodes the three images to PIL images (``np.asarray`` gives the
arrays above); :mod:`landbench.datasets.hub_reader` turns a row back into the landbench sample dict,
bit-identical to what the raw loader returns.

Datasets whose bands are not R, G, B, DEM (Landslide4Sense's 14 bands, a folder dataset's own)
are stored as *multi-band* builds: no ``dem`` column, and ``image`` is an ``Array3D`` of float32
``[C, H, W]`` holding every band in the order the build record's ``bands`` lists, values exactly
as the raw loader returns them (``image_shape`` in the record; every sample has that shape).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from landbench.core.errors import DatasetNotFoundError, InvalidDataError
from landbench.core.io import sha256_file  # re-exported: builds and weights hash through it
from landbench.datasets.hub_errors import ShardChecksumError

CARD_FILE = "README.md"
RECORD_FILE = "landbench_build.json"
CHECKSUM_FILE = "SHA256SUMS"
PUSH_RECORD_FILE = "landbench_push.json"
DATA_DIR = "data"
FORMAT_VERSION = 1

BASE_COLUMNS: tuple[str, ...] = ("id", "image", "dem", "mask", "is_landslide")
MULTIBAND_COLUMNS: tuple[str, ...] = ("id", "image", "mask", "is_landslide")
"""Columns of a multi-band build (bands other than R, G, B, DEM): the image is one array."""
RGB_DEM_BANDS: tuple[str, ...] = ("R", "G", "B", "DEM")
"""The bands a classic build stores as an RGB PNG and a float32 TIFF."""
GEO_COLUMNS: tuple[str, ...] = ("crs", "transform")

ROWS_PER_GROUP = 64
"""Rows per Parquet row group: small groups let readers and the Hub viewer fetch few images."""

MAX_SHARD_BYTES = 500 * 2**20
"""Encoded bytes after which a split's shard is closed and a new one started."""


def shard_name(split: str, index: int, count: int) -> str:
    """Path of shard ``index`` of ``count`` of ``split``, relative to the build folder."""
    return f"{DATA_DIR}/{split}-{index:05d}-of-{count:05d}.parquet"


def hub_features(georeferenced: bool, image_shape: Sequence[int] | None = None) -> Any:
    """The ``datasets.Features`` of a build's rows.

    Args:
        georeferenced: whether to add the ``crs`` and ``transform`` columns.
        image_shape: ``[C, H, W]`` of a multi-band build's ``image`` array; None for a classic
            R, G, B PNG + DEM TIFF build.
    """
    from datasets import Array3D, Features, Image, Sequence, Value

    if image_shape is None:
        features = {
            "id": Value("string"),
            "image": Image(),
            "dem": Image(),
            "mask": Image(),
            "is_landslide": Value("bool"),
        }
    else:
        features = {
            "id": Value("string"),
            "image": Array3D(shape=tuple(int(n) for n in image_shape), dtype="float32"),
            "mask": Image(),
            "is_landslide": Value("bool"),
        }
    if georeferenced:
        features["crs"] = Value("string")
        features["transform"] = Sequence(Value("float64"), length=6)
    return Features(features)


def record_features(record: Mapping[str, Any]) -> Any:
    """The ``datasets.Features`` of the build described by a build record."""
    return hub_features(record["georeferenced"], record.get("image_shape"))


def format_checksums(checksums: Mapping[str, str]) -> str:
    """``sha256sum``-compatible text: one ``<hex>  <relative path>`` line per file, sorted."""
    return "".join(f"{checksums[p]}  {p}\n" for p in sorted(checksums))


def read_checksums(folder: Path) -> dict[str, str]:
    """Parse ``folder/SHA256SUMS`` into relative path -> sha256.

    Raises:
        DatasetNotFoundError: if the file is missing.
        InvalidDataError: if a line is malformed.
    """
    path = folder / CHECKSUM_FILE
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{path} does not exist; {folder} is not a complete landbench Hub build "
            "(rebuild it with `landbench hub build`)."
        )
    out: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split(None, 1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise InvalidDataError(f"{path}, line {number}: expected '<sha256>  <file>'.")
        out[parts[1].lstrip("*").strip()] = parts[0].lower()
    return out


def verify_checksums(folder: Path, checksums: Mapping[str, str] | None = None) -> dict[str, str]:
    """Check every file listed in ``SHA256SUMS`` and that no unlisted shard lies in ``data/``.

    Args:
        folder: the build or snapshot folder.
        checksums: the parsed checksum file, if already read.

    Returns:
        The checksums that were verified.

    Raises:
        ShardChecksumError: on a missing, extra or modified file.
    """
    checksums = read_checksums(folder) if checksums is None else checksums
    for rel, expected in sorted(checksums.items()):
        path = folder / rel
        if not path.is_file():
            raise ShardChecksumError(
                f"{path} is listed in {folder / CHECKSUM_FILE} but missing; the snapshot is "
                "incomplete: download or rebuild it."
            )
        actual = sha256_file(path)
        if actual != expected:
            raise ShardChecksumError(
                f"{path} has sha256 {actual}, but {CHECKSUM_FILE} records {expected}: the file "
                "was modified or truncated. Download or rebuild the snapshot."
            )
    data = folder / DATA_DIR
    extra = sorted(
        p.relative_to(folder).as_posix()
        for p in data.glob("*.parquet")
        if p.relative_to(folder).as_posix() not in checksums
    )
    if extra:
        raise ShardChecksumError(
            f"{data} holds shards not listed in {CHECKSUM_FILE}: {extra}; remove them or rebuild."
        )
    return dict(checksums)


def read_record(folder: Path) -> dict[str, Any]:
    """Read ``landbench_build.json`` of a build or snapshot folder.

    Raises:
        DatasetNotFoundError: if the folder or its record is missing.
        InvalidDataError: if the record is not valid JSON of a known format version.
    """
    path = folder / RECORD_FILE
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{path} does not exist; {folder} is not a landbench Hub build or snapshot. "
            "Build one with `landbench hub build` or download the dataset repository."
        )
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InvalidDataError(f"{path} is not valid JSON ({err}).") from None
    if record.get("format_version") != FORMAT_VERSION:
        raise InvalidDataError(
            f"{path} has format_version {record.get('format_version')!r}; this landbench reads "
            f"version {FORMAT_VERSION}. Upgrade landbench or rebuild the snapshot."
        )
    return record


def read_pushes(folder: Path) -> list[dict[str, Any]]:
    """The pushes recorded in ``folder/landbench_push.json`` (empty if never pushed).

    Raises:
        InvalidDataError: if the file exists but is not a valid push record.
    """
    path = folder / PUSH_RECORD_FILE
    if not path.is_file():
        return []
    try:
        pushes = json.loads(path.read_text(encoding="utf-8"))["pushes"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise InvalidDataError(
            f"{path} is not a landbench push record ({err!r}); repair or move it away."
        ) from None
    return list(pushes)


# --- samples <-> rows -------------------------------------------------------------------------


def _png(array: np.ndarray, mode: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG")
    return buffer.getvalue()


def encode_dem(dem: np.ndarray) -> bytes:
    """A float32 ``[H, W]`` array as an uncompressed 32-bit float TIFF (PIL mode ``"F"``).

    Uncompressed keeps every bit, NaN payloads included, and decodes with PIL, GDAL or tifffile.
    """
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(dem, dtype=np.float32), mode="F").save(
        buffer, format="TIFF"
    )
    return buffer.getvalue()


def encode_sample(
    sample: Mapping[str, Any],
    is_landslide: bool,
    georeferenced: bool,
    image_shape: Sequence[int] | None = None,
) -> dict:
    """Encode one raw landbench sample as a row of the build (the columns of the module doc).

    Args:
        sample: ``{"image": float32 [4, H, W] (R, G, B, DEM), "mask": int64 [H, W], "id": str}``
            (or ``[C, H, W]`` of any bands for a multi-band build) with ``crs`` and ``transform``
            when ``georeferenced``.
        is_landslide: whether the sample is a landslide sample.
        georeferenced: whether to fill the ``crs`` and ``transform`` columns.
        image_shape: ``[C, H, W]`` of a multi-band build (the image is stored as a float32
            array of exactly that shape); None for a classic R, G, B, DEM build.

    Raises:
        InvalidDataError: on a key without a column, or if R, G, B are not integers in 0-255
            or the mask is not in {0, 1} (8-bit PNG could not hold them bit-exactly), or if a
            multi-band image differs from ``image_shape``.
    """
    sample_id = str(sample["id"])
    extra = sorted(set(sample) - {"image", "mask", "id", "crs", "transform"})
    if extra:
        raise InvalidDataError(
            f"Sample {sample_id!r} holds {extra}, which the Hub format has no column for; build "
            "without the dataset options that add them (e.g. polygons=True)."
        )
    image = np.asarray(sample["image"], dtype=np.float32)
    if image_shape is not None:
        if image.shape != tuple(image_shape):
            raise InvalidDataError(
                f"Sample {sample_id!r}: image has shape {image.shape}, but the build stores "
                f"[C, H, W] = {tuple(image_shape)} for every sample (a multi-band build holds "
                "tiles of one size)."
            )
        row = {"id": sample_id, "image": image, "is_landslide": bool(is_landslide)}
        row["mask"] = {"bytes": _png(_mask8(sample, image.shape[1:]), "L"), "path": None}
        return _add_georef(row, sample, georeferenced)
    if image.ndim != 3 or image.shape[0] != 4:
        raise InvalidDataError(
            f"Sample {sample_id!r}: image has shape {image.shape}, expected [4, H, W] "
            "(R, G, B, DEM); build from the dataset with all four bands."
        )
    rgb = image[:3]
    rgb8 = rgb.astype(np.uint8)
    if not np.array_equal(rgb8.astype(np.float32), rgb):
        raise InvalidDataError(
            f"Sample {sample_id!r}: R, G, B hold values outside the integers 0-255 "
            f"(range {np.nanmin(rgb)}..{np.nanmax(rgb)}); an 8-bit PNG cannot store them exactly. "
            "Build from 8-bit imagery (for Hokkaido: --set image_format=png)."
        )
    mask8 = _mask8(sample, image.shape[1:])
    row = {
        "id": sample_id,
        "image": {
            "bytes": _png(np.ascontiguousarray(np.moveaxis(rgb8, 0, -1)), "RGB"),
            "path": None,
        },
        "dem": {"bytes": encode_dem(image[3]), "path": None},
        "mask": {"bytes": _png(mask8, "L"), "path": None},
        "is_landslide": bool(is_landslide),
    }
    return _add_georef(row, sample, georeferenced)


def _mask8(sample: Mapping[str, Any], shape: tuple[int, ...]) -> np.ndarray:
    """The sample's mask as contiguous uint8 {0, 1}, checked against the image's ``(H, W)``."""
    sample_id = str(sample["id"])
    mask = np.asarray(sample["mask"])
    if mask.shape != tuple(shape):
        raise InvalidDataError(
            f"Sample {sample_id!r}: mask shape {mask.shape} differs from image {tuple(shape)}."
        )
    mask8 = mask.astype(np.uint8)
    if not np.array_equal(mask8, mask) or mask8.max(initial=0) > 1:
        raise InvalidDataError(f"Sample {sample_id!r}: mask values are not in {{0, 1}}.")
    return np.ascontiguousarray(mask8)


def _add_georef(row: dict, sample: Mapping[str, Any], georeferenced: bool) -> dict:
    """Fill the ``crs`` and ``transform`` columns of a georeferenced build."""
    sample_id = row["id"]
    if not georeferenced and sample.get("crs") is not None:
        raise InvalidDataError(
            f"Sample {sample_id!r} is georeferenced but the dataset's first sample is not; a "
            "build needs all samples georeferenced or none (check the GeoTIFFs)."
        )
    if georeferenced:
        row["crs"] = crs_to_text(sample.get("crs"), sample_id)
        row["transform"] = transform_to_list(sample.get("transform"), sample_id)
    return row


def crs_to_text(crs: Any, sample_id: str) -> str:
    """A CRS (rasterio ``CRS``, or any string form) as WKT text."""
    if crs is None:
        raise InvalidDataError(f"Sample {sample_id!r} has no 'crs' but its dataset has one.")
    if isinstance(crs, str):
        return crs
    to_wkt = getattr(crs, "to_wkt", None)
    return to_wkt() if callable(to_wkt) else str(crs)


def transform_to_list(transform: Any, sample_id: str) -> list[float]:
    """An affine transform (rasterio ``Affine`` or 6/9 numbers) as ``[a, b, c, d, e, f]``."""
    if transform is None:
        raise InvalidDataError(f"Sample {sample_id!r} has no 'transform' but its dataset has one.")
    values = [float(v) for v in tuple(transform)]
    if len(values) == 9:
        values = values[:6]
    if len(values) != 6:
        raise InvalidDataError(
            f"Sample {sample_id!r}: transform has {len(values)} values, expected 6 (a..f)."
        )
    return values


def decode_png(data: bytes) -> torch.Tensor:
    """Decode PNG bytes to a uint8 ``[C, H, W]`` tensor with libpng (as the raw readers do)."""
    from landbench.datasets.io import _MODE_UNCHANGED, _decode_png_op

    buffer = torch.frombuffer(bytearray(data), dtype=torch.uint8)
    if _decode_png_op is not None:
        # The raw readers' op: torchvision 0.29's decode_png wrapper warns on every call.
        return _decode_png_op(buffer, _MODE_UNCHANGED)
    from torchvision.io import ImageReadMode
    from torchvision.io import decode_png as _decode_png

    return _decode_png(buffer, ImageReadMode.UNCHANGED)


def decode_dem(data: bytes) -> np.ndarray:
    """Decode the float32 TIFF of :func:`encode_dem` to a float32 ``[H, W]`` array."""
    with Image.open(io.BytesIO(data)) as im:
        if im.mode != "F":
            raise InvalidDataError(f"DEM TIFF has PIL mode {im.mode!r}, expected 'F' (float32).")
        return np.asarray(im, dtype=np.float32)


def decode_row(row: Mapping[str, Any], georef_types: str | None = None) -> dict[str, Any]:
    """Turn one undecoded row back into a landbench sample dict (all bands of the build).

    Args:
        row: a row with ``image``/``dem``/``mask`` as ``{"bytes": ..., "path": ...}`` (for a
            multi-band build: ``image`` the float32 ``[C, H, W]`` array, no ``dem``).
        georef_types: ``"rasterio"`` to return ``crs``/``transform`` as rasterio ``CRS`` and
            ``Affine`` objects, ``"plain"`` for WKT text and a 6-tuple, None to drop them.

    Returns:
        ``{"image": float32 [4, H, W], "mask": int64 [H, W], "id": str, ...}``.
    """
    if "dem" not in row:  # a multi-band build: the image is the float32 [C, H, W] array
        image = np.array(row["image"], dtype=np.float32)
    else:
        dem = decode_dem(_bytes_of(row["dem"]))
        # numpy for the dtype conversions: single-threaded, they beat torch's small-tensor
        # kernels by about 10x on a busy machine (tests/benchmarks/test_bench_hub.py).
        image = np.empty((4, *dem.shape), dtype=np.float32)
        image[:3] = decode_png(_bytes_of(row["image"])).numpy()
        image[3] = dem
    mask = decode_png(_bytes_of(row["mask"])).numpy()[0].astype(np.int64)
    sample: dict[str, Any] = {
        "image": torch.from_numpy(image),
        "mask": torch.from_numpy(mask),
        "id": row["id"],
    }
    if georef_types is not None and row.get("crs") is not None:
        if georef_types == "rasterio":
            from affine import Affine
            from rasterio.crs import CRS

            sample["crs"] = CRS.from_wkt(row["crs"])
            sample["transform"] = Affine(*row["transform"])
        else:
            sample["crs"] = row["crs"]
            sample["transform"] = tuple(row["transform"])
    return sample


def _bytes_of(value: Any) -> bytes:
    # An undecoded datasets Image is {"bytes": ..., "path": ...}; a bare bytes value also works.
    return value["bytes"] if isinstance(value, Mapping) else value


def find_build_files(folder: Path) -> list[str]:
    """Relative paths of the files a build consists of (shards, record), sorted."""
    files = [p.relative_to(folder).as_posix() for p in (folder / DATA_DIR).glob("*.parquet")]
    if (folder / RECORD_FILE).is_file():
        files.append(RECORD_FILE)
    return sorted(files)


def dump_record(record: Mapping[str, Any]) -> str:
    """The build record's canonical JSON text (sorted keys, so rebuilds are byte-identical)."""
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
