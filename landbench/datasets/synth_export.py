"""Write a LandslideSynth dataset to disk in the exact layout of the Bijie archive.

``Bijie(root=to)`` then loads it, which exercises the real loader end to end
(``landbench datasets export synth --to DIR``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from landbench._version import __version__
from landbench.core.errors import ConfigError, LandbenchError
from landbench.core.io import atomic_directory
from landbench.datasets.synth_generator import (
    GENERATOR_VERSION,
    generate_tile,
    tile_classes,
    tile_id,
)
from landbench.datasets.synth_presets import (
    MAX_N,
    MAX_SEED,
    RGBD_BANDS,
    check_int,
    check_size,
    get_preset,
)

_DEM_ENCODING = "uint16 PNG, elevation in metres rounded to the nearest metre"


def _polygon(mask: np.ndarray) -> list[tuple[int, int]]:
    """Outline of the largest landslide in ``mask`` as a closed ring of ``(x, y)`` pixels."""
    from rasterio import features

    best: list[tuple[float, float]] = []
    best_area = -1.0
    for geom, _ in features.shapes(mask.astype(np.uint8), mask=mask.astype(bool), connectivity=4):
        ring = geom["coordinates"][0]
        xs, ys = np.asarray(ring).T
        area = 0.5 * abs(float(np.dot(xs[:-1], ys[1:]) - np.dot(xs[1:], ys[:-1])))
        if area > best_area:
            best, best_area = ring, area
    h, w = mask.shape
    # Corner coordinates run from 0 to W; clip so every point is a valid pixel.
    pts = [(min(int(x), w - 1), min(int(y), h - 1)) for x, y in best]
    out = [pts[0]]
    for p in pts[1:]:
        if p != out[-1]:
            out.append(p)
    if out[-1] != out[0]:
        out.append(out[0])
    return out


def _png(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def export_bijie_layout(
    to: str | Path,
    preset: str = "bijie",
    seed: int = 0,
    n: int | None = None,
    size: int | Sequence[int] | None = None,
) -> Path:
    """Write a LandslideSynth dataset in the exact layout of the Bijie archive.

    ``Bijie(root=to)`` then loads it, which exercises the real loader end to end. Layout::

        to/Bijie-landslide-dataset/
            landslide/image/<id>.png               RGB, 8-bit
            landslide/dem/<id>.png                 DEM, 16-bit: metres rounded to 1 m
            landslide/mask/<id>.png                8-bit, landslide 255, background 0
            landslide/polygon_coordinate/<id>.txt  outline of the largest slide
            non-landslide/image/<id>.png
            non-landslide/dem/<id>.png
            synth_export.json                      the generator settings (provenance)

    Stems are the LandslideSynth ids. The folder is built aside and moved into place only when
    complete.

    Args:
        to: the folder that will hold ``Bijie-landslide-dataset`` (created if missing).
        preset: LandslideSynth preset.
        seed: dataset seed.
        n: number of tiles; None for the preset default.
        size: tile side or ``(H, W)``; None for the preset default.

    Returns:
        ``Path(to)``, the ``root`` to pass to ``Bijie``.

    Raises:
        ConfigError: for invalid settings.
        LandbenchError: if ``to/Bijie-landslide-dataset`` already exists.
    """
    p = get_preset(preset)  # every setting is validated before anything is written
    seed = check_int("seed", seed, 0, MAX_SEED)
    n = check_int("n", p.n if n is None else n, 1, MAX_N)
    shape = check_size(p.size if size is None else size)
    if p.bands != RGBD_BANDS:
        raise ConfigError(
            f"Preset {p.name!r} has bands {list(p.bands)}; the Bijie layout holds R, G, B and "
            f"DEM only. Export a preset with those bands ({', '.join(RGBD_BANDS)})."
        )
    to = Path(to)
    if to.exists() and not to.is_dir():
        raise LandbenchError(f"{to} is a file; pass a folder to export into.")
    target = to / "Bijie-landslide-dataset"
    if target.exists():
        raise LandbenchError(
            f"{target} already exists; remove it or export to another folder (nothing was written)."
        )
    with atomic_directory(target) as tmp:
        for sub in ("image", "dem", "mask", "polygon_coordinate"):
            (tmp / "landslide" / sub).mkdir(parents=True)
        for sub in ("image", "dem"):
            (tmp / "non-landslide" / sub).mkdir(parents=True)
        classes = tile_classes(p, seed, n)
        for index in range(n):
            sample_id = tile_id(p, seed, index)
            image, mask = generate_tile(p, seed, index, shape)
            cls = "landslide" if classes[index] else "non-landslide"
            rgb = np.moveaxis(image[:3], 0, -1).astype(np.uint8)
            dem = np.clip(np.rint(image[3]), 0, 65535).astype(np.uint16)
            (tmp / cls / "image" / f"{sample_id}.png").write_bytes(_png(rgb))
            (tmp / cls / "dem" / f"{sample_id}.png").write_bytes(_png(dem))
            if cls == "landslide":
                (tmp / cls / "mask" / f"{sample_id}.png").write_bytes(_png(mask * 255))
                lines = [
                    f"landslide instance name: {sample_id}",
                    "landslide instance polygon boundary coordinates(x,y):",
                    *(f"{x} {y}" for x, y in _polygon(mask)),
                ]
                text = "\n".join(lines) + "\n"
                (tmp / cls / "polygon_coordinate" / f"{sample_id}.txt").write_text(text)
        provenance = {
            "generator_version": GENERATOR_VERSION,
            "preset": p.name,
            "seed": seed,
            "size": list(shape),
            "n": n,
            "landbench_version": __version__,
            "dem_encoding": _DEM_ENCODING,
        }
        (tmp / "synth_export.json").write_text(json.dumps(provenance, indent=2, sort_keys=True))
    return to
