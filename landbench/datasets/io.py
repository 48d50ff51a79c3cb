"""Readers for the raster files of landslide datasets: PNG tiles and GeoTIFF snippets.

Every reader names the file in its error, so a corrupt or truncated tile in a folder of thousands
is found at once. Values are returned raw (no scaling): 8-bit RGB stays 0-255, a 16-bit DEM PNG
stays in its stored units.

Readers return numpy arrays ``[C, H, W]``, and the datasets assemble samples in numpy before one
``torch.from_numpy`` at the end. That is deliberate: torch's element-wise ops on these small
arrays go through its intra-op thread pool, and on a busy machine (or in the main process of a
data loader) the pool's barriers cost milliseconds per op; numpy runs them single-threaded.
Measured on 2 busy shared cores, loading 40 Bijie-size samples took 2.2-4.4 s with torch ops
(2 threads), 0.26-0.30 s with torch limited to 1 thread, and 0.14-0.17 s with numpy ops.
PNGs are decoded by torchvision's libpng op (Pillow is the fallback); see :func:`read_png` and
``tests/benchmarks/test_bench_loading.py``.
"""

from __future__ import annotations

import os
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from landbench.core.errors import DatasetNotFoundError, InvalidDataError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GEOTIFF_SUFFIXES: tuple[str, ...] = (".tif", ".tiff")
RASTER_SUFFIXES: tuple[str, ...] = (".png", *GEOTIFF_SUFFIXES)

# PNG colour types (IHDR byte 25) -> number of decoded channels; 3 is a palette.
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}


class SizeMismatchWarning(UserWarning):
    """A raster (usually a DEM) was resampled because its size differs from its image."""


@dataclass(frozen=True)
class PngHeader:
    """What a PNG's IHDR chunk says, read without decoding the pixels.

    Attributes:
        width: pixels.
        height: pixels.
        bit_depth: bits per sample (1, 2, 4, 8 or 16).
        color_type: 0 grey, 2 RGB, 3 palette, 4 grey + alpha, 6 RGBA.
    """

    width: int
    height: int
    bit_depth: int
    color_type: int

    @property
    def dtype(self) -> str:
        """The numpy dtype name of the decoded samples (``uint8`` or ``uint16``)."""
        return "uint16" if self.bit_depth == 16 else "uint8"


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DatasetNotFoundError(f"{path} does not exist.") from None
    except IsADirectoryError:
        raise InvalidDataError(f"{path} is a folder, expected a raster file.") from None


def png_header(path: str | os.PathLike[str], data: bytes | None = None) -> PngHeader:
    """Parse the IHDR chunk of a PNG file.

    Args:
        path: the file (named in errors; read unless ``data`` is given).
        data: the file's bytes, if already read.

    Raises:
        InvalidDataError: if the file is not a PNG.
    """
    path = Path(path)
    if data is None:
        with open(path, "rb") as f:
            data = f.read(33)
    if len(data) < 33 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise InvalidDataError(
            f"{path} is not a PNG file (bad signature or header); re-extract or re-download it."
        )
    width, height, bit_depth, color_type = struct.unpack(">IIBB", data[16:26])
    if color_type not in _PNG_CHANNELS:
        raise InvalidDataError(f"{path} has an invalid PNG colour type {color_type}.")
    return PngHeader(width, height, bit_depth, color_type)


def _torchvision_png_op() -> Callable[[Tensor, int], Tensor] | None:
    """The libpng decoding op of torchvision, or None where this torchvision lacks it."""
    try:
        import torchvision.io  # noqa: F401  (loads the image extension that registers the op)

        op = torch.ops.image.decode_png
    except (ImportError, AttributeError, RuntimeError):
        return None
    # The op itself: torchvision >= 0.29's Python wrapper adds a deprecation warning per call.
    return lambda data, mode: op(data, mode, False)


_MODE_UNCHANGED, _MODE_RGB = 0, 3  # torchvision.io.ImageReadMode values
_decode_png_op = _torchvision_png_op()


def _decode_png_pil(path: Path, data: bytes, header: PngHeader) -> np.ndarray:
    """Fallback decoder with Pillow, matching libpng's output (CHW, palettes expanded)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        if im.mode == "P" or im.mode == "PA":
            im = im.convert("RGB")
        array = np.asarray(im)
    if array.dtype == bool:  # 1-bit: libpng expands to 0/255
        array = array.astype(np.uint8) * 255
    elif header.bit_depth == 16 and array.dtype != np.uint16:
        array = array.astype(np.uint16)
    return array[None] if array.ndim == 2 else np.moveaxis(array, -1, 0)


def read_png(path: str | os.PathLike[str], channels: str = "any") -> np.ndarray:
    """Decode a PNG to a ``[C, H, W]`` uint8 or uint16 array of raw values.

    Decoding uses torchvision's libpng op when available: measured on Bijie-sized tiles it is
    the fastest decoder installed here (Pillow, which already uses zlib-ng, is 5-25% slower per
    file and returns ``[H, W, C]``) and the op skips the per-call deprecation warning of
    torchvision 0.29's Python wrapper. Pillow is the fallback if the op disappears.

    Args:
        path: the PNG file.
        channels: ``"rgb"`` returns 3 channels (palettes expanded, alpha dropped, grey refused);
            ``"gray"`` returns 1 channel (a palette is expanded to its colours; a 3-channel file
            is accepted only when its channels are equal); ``"any"`` returns what is stored.

    Returns:
        ``[C, H, W]`` array, dtype uint8 (or uint16 for 16-bit PNGs), possibly a strided view.

    Raises:
        DatasetNotFoundError: if the file does not exist.
        InvalidDataError: if it is not a PNG, is truncated or corrupt, or has the wrong channels.
    """
    path = Path(path)
    data = _read_bytes(path)
    header = png_header(path, data)
    try:
        if _decode_png_op is not None:
            # A palette decoded UNCHANGED yields indices; RGB mode expands the colours.
            mode = _MODE_RGB if header.color_type == 3 else _MODE_UNCHANGED
            raw = torch.frombuffer(bytearray(data), dtype=torch.uint8)
            tensor = _decode_png_op(raw, mode).numpy()
        else:
            tensor = _decode_png_pil(path, data, header)
    except (RuntimeError, OSError, ValueError, SyntaxError) as err:
        reason = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        raise InvalidDataError(
            f"{path} is truncated or corrupt ({reason}); re-extract or re-download it."
        ) from None
    n = tensor.shape[0]
    if channels == "rgb":
        if n in (1, 2):
            raise InvalidDataError(
                f"{path} is a single-band (grey) PNG, expected an RGB image; check that image and "
                "DEM files are not swapped."
            )
        return tensor[:3]
    if channels == "gray":
        if n in (1, 2):
            return tensor[:1]
        first = tensor[:1]
        if not (tensor[1:3] == first).all():
            raise InvalidDataError(
                f"{path} has {n} different channels, expected a single-band raster (DEM or mask)."
            )
        return first
    return tensor


def read_geotiff(path: str | os.PathLike[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """Read every band of a GeoTIFF with rasterio.

    Args:
        path: the GeoTIFF file.

    Returns:
        ``(array [C, H, W] in the file's dtype, meta)`` with ``meta`` holding ``crs``
        (:class:`rasterio.crs.CRS` or None), ``transform`` (:class:`affine.Affine`), ``nodata``
        and ``dtype``.

    Raises:
        DatasetNotFoundError: if the file does not exist.
        InvalidDataError: if rasterio cannot read it (corrupt, truncated, not a TIFF).
    """
    import rasterio
    from rasterio.errors import RasterioError

    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path} does not exist.")
    try:
        with rasterio.open(path) as src:
            array = src.read()
            meta = {
                "crs": src.crs,
                "transform": src.transform,
                "nodata": src.nodata,
                "dtype": src.dtypes[0],
            }
    except RasterioError as err:
        raise InvalidDataError(
            f"{path} is not a readable GeoTIFF ({err}); re-extract or re-download it."
        ) from None
    return array, meta


def read_raster(path: str | os.PathLike[str], channels: str = "any") -> tuple[np.ndarray, dict]:
    """Read a PNG or GeoTIFF by suffix.

    Args:
        path: a ``.png``, ``.tif`` or ``.tiff`` file.
        channels: as in :func:`read_png` (``"rgb"`` keeps the first three bands of a GeoTIFF,
            ``"gray"`` requires a single band).

    Returns:
        ``(array [C, H, W], meta)``; ``meta`` is empty for PNGs and holds ``crs``,
        ``transform`` and ``nodata`` for GeoTIFFs. Values keep the file's dtype.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        return read_png(path, channels), {}
    if suffix not in GEOTIFF_SUFFIXES:
        raise InvalidDataError(f"{path}: unsupported raster format; expected .png, .tif or .tiff.")
    array, meta = read_geotiff(path)
    n = array.shape[0]
    if channels == "rgb":
        if n < 3:
            raise InvalidDataError(f"{path} has {n} band(s), expected 3 (R, G, B).")
        array = array[:3]
    elif channels == "gray":
        if n != 1:
            raise InvalidDataError(f"{path} has {n} bands, expected a single-band raster.")
    return array, meta


def mask_to_binary(
    mask: np.ndarray, path: str | os.PathLike[str], values: str = "0/255"
) -> np.ndarray:
    """Convert a stored mask ``[H, W]`` to int64 {0, 1}, refusing any other stored value.

    Args:
        mask: the stored mask.
        path: the file it came from (named in errors).
        values: ``"0/255"`` accepts exactly {0, 255}; ``"0/1|0/255"`` also accepts {0, 1}.

    Raises:
        InvalidDataError: if the mask holds any other value.
    """
    positive = mask != 0
    if values == "0/255":
        bad = positive & (mask != 255)
        expected = "{0, 255}"
    else:
        ones = mask == 1
        bad = positive & ~ones & (mask != 255)
        if not bad.any() and ones.any() and (mask == 255).any():
            bad = positive  # a mix of 1 and 255 is ambiguous
        expected = "{0, 1} or {0, 255}"
    if bad.any():
        found = [int(v) if float(v).is_integer() else float(v) for v in np.unique(mask[bad])[:10]]
        raise InvalidDataError(
            f"{path}: mask values must be {expected} (landslide = 255 or 1), found {found}; "
            "the file may be an image or a DEM in the mask folder."
        )
    return positive.astype(np.int64)


def resample_to(
    raster: np.ndarray, shape: tuple[int, int], path: str | os.PathLike[str]
) -> np.ndarray:
    """Bilinearly resample a ``[H, W]`` raster to ``shape``, warning that it did so.

    Args:
        raster: the raster (any numeric dtype); returned as float32.
        shape: ``(height, width)`` of the target grid (the image's).
        path: the file, named in the warning.
    """
    warnings.warn(
        f"{path} is {tuple(raster.shape)} but its image is {tuple(shape)}; resampled it "
        "bilinearly to the image grid.",
        SizeMismatchWarning,
        stacklevel=3,
    )
    x = torch.from_numpy(np.ascontiguousarray(raster, dtype=np.float32))[None, None]
    return F.interpolate(x, size=shape, mode="bilinear", align_corners=False)[0, 0].numpy()


def list_files(folder: Path, suffixes: tuple[str, ...] = (".png",)) -> dict[str, Path]:
    """Map stem to path for the files of ``folder`` with one of ``suffixes`` (case-insensitive).

    Hidden files (``.DS_Store``, editor backups, AppleDouble ``._x.png``) are skipped. A folder
    that does not exist yields an empty mapping.

    Raises:
        InvalidDataError: if two files share a stem (e.g. ``a.png`` and ``a.PNG``).
    """
    out: dict[str, Path] = {}
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return out
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_file():
            continue
        path = Path(entry.path)
        if path.suffix.lower() not in suffixes:
            continue
        if path.stem in out:
            raise InvalidDataError(
                f"{out[path.stem]} and {path} share the id {path.stem!r}; keep only one."
            )
        out[path.stem] = path
    return out
