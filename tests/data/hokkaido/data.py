#!/usr/bin/env python3
"""Write a tiny fake Hokkaido dataset: an upstream-like folder and the canonical layout.

Run from this folder: ``python data.py``. It (re)creates

* ``upstream/``: what an extracted upstream download might look like (the real inner layout is
  undocumented): ``{train,valid,test}/images/<id>.png`` (8-bit RGB) and ``<id>.tif`` (3-band
  uint16 GeoTIFF, EPSG:32654, 10 m), ``dem/<id>_dem.tif`` (float32 metres, nodata -9999),
  ``masks/<id>_mask.png`` (0/255), plus side files (``.aux.xml``, a README);
* ``Hokkaido/``: the same files in landbench's canonical layout, as
  ``landbench datasets import hokkaido`` writes it (without its ``import.json``).
"""

import os
import shutil
from pathlib import Path

import numpy as np
import rasterio
from PIL import Image, ImageDraw
from rasterio.transform import from_origin

HERE = Path(__file__).resolve().parent
SPLITS = {
    "train": ["hk_01", "hk_04", "hk_07"],
    "val": ["hk_02", "hk_09"],
    "test": ["hk_03", "hk_11"],
}
UPSTREAM_SPLIT = {"train": "train", "val": "valid", "test": "test"}
CRS = "EPSG:32654"


def smooth(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    f = sum(np.sin(a * yy + b * xx + c) for a, b, c in rng.uniform(0.05, 0.3, (3, 3)))
    return (f - f.min()) / max(f.max() - f.min(), 1e-9)


def write_tif(path: Path, array: np.ndarray, transform, nodata=None) -> None:
    profile = {
        "driver": "GTiff", "height": array.shape[1], "width": array.shape[2],
        "count": array.shape[0], "dtype": array.dtype.name, "crs": CRS,
        "transform": transform, "nodata": nodata, "compress": "deflate",
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array)


def write_snippet(rng: np.random.Generator, folder: Path, sid: str, k: int) -> None:
    h, w = (int(v) for v in rng.integers(14, 25, size=2))
    transform = from_origin(370000 + 1000 * k, 4750000, 10, 10)
    refl = np.stack([smooth(rng, h, w) for _ in range(3)]) * 2500 + 300
    write_tif(folder / "images" / f"{sid}.tif", refl.astype(np.uint16), transform)
    rgb8 = np.clip(refl / 3000 * 255, 0, 255).astype(np.uint8)
    Image.fromarray(np.moveaxis(rgb8, 0, -1), "RGB").save(folder / "images" / f"{sid}.png")
    dem = (smooth(rng, h, w) * 600 + 50).astype(np.float32)
    dem[0, 0] = -9999  # a nodata cell, as at the edge of a clipped DEM
    write_tif(folder / "dem" / f"{sid}_dem.tif", dem[None], transform, nodata=-9999)
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    for _ in range(3):  # several small landslides, as in Hokkaido
        x, y = int(rng.integers(0, w - 4)), int(rng.integers(0, h - 4))
        draw.ellipse([x, y, x + int(rng.integers(2, 5)), y + int(rng.integers(2, 6))], fill=255)
    mask.save(folder / "masks" / f"{sid}_mask.png")
    aux = "<PAMDataset><Metadata><MDI key='note'>side file</MDI></Metadata></PAMDataset>\n"
    (folder / "images" / f"{sid}.tif.aux.xml").write_text(aux)


def main() -> None:
    os.chdir(HERE)
    rng = np.random.default_rng(0)
    for folder in ("upstream", "Hokkaido"):
        shutil.rmtree(folder, ignore_errors=True)
    up = Path("upstream")
    up.mkdir()
    (up / "README.txt").write_text("Fake Hokkaido landslide snippets for landbench tests.\n")
    k = 0
    for split, ids in SPLITS.items():
        folder = up / UPSTREAM_SPLIT[split]
        for sub in ("images", "dem", "masks"):
            (folder / sub).mkdir(parents=True)
        for sid in ids:
            write_snippet(rng, folder, sid, k)
            k += 1
    canon = Path("Hokkaido")
    for split, ids in SPLITS.items():
        src = up / UPSTREAM_SPLIT[split]
        for role in ("image", "dem", "mask"):
            (canon / split / role).mkdir(parents=True)
        for sid in ids:
            shutil.copyfile(src / "images" / f"{sid}.png", canon / split / "image" / f"{sid}.png")
            shutil.copyfile(src / "images" / f"{sid}.tif", canon / split / "image" / f"{sid}.tif")
            shutil.copyfile(src / "dem" / f"{sid}_dem.tif", canon / split / "dem" / f"{sid}.tif")
            shutil.copyfile(
                src / "masks" / f"{sid}_mask.png", canon / split / "mask" / f"{sid}.png"
            )
    size = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    print(f"wrote upstream/ and Hokkaido/ ({size} bytes with data.py)")


if __name__ == "__main__":
    main()
