#!/usr/bin/env python3
"""Write a tiny fake Landslide4Sense release in the exact upstream format, plus its archive.

Layout, keys, shapes and dtypes are those of the release (Zenodo record 10463239):
``<Split>Data/img/image_<n>.h5`` with ``img`` float64 (128, 128, 14) and
``<Split>Data/mask/mask_<n>.h5`` with ``mask`` uint8 (128, 128) in {0, 1}. Three train, two
validation and two test patches, numbered from 1 as upstream; ``train image_2`` and
``test image_1`` hold no landslide. Values are smooth fields on a 1/8 grid so gzip keeps the
files small; ``ValidData.zip`` (the ValidData folder, zipped) serves the download test.

Run from this folder: ``python data.py``; it prints the archive's md5 for the test.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import h5py
import numpy as np

SIZE = 128
BANDS = 14
COUNTS = {"TrainData": 3, "ValidData": 2, "TestData": 2}
EMPTY = {("TrainData", 2), ("TestData", 1)}
HERE = Path(__file__).resolve().parent


def patch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One image (128, 128, 14) float64 and its mask (128, 128) uint8."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    bands = []
    for b in range(BANDS):
        a, c, phase = rng.uniform(1, 6, 3)
        field = np.sin(a * yy + c * xx + phase) + 0.1 * b
        bands.append(np.round(field * 8) / 8)  # dyadic values: exact and compressible
    image = np.stack(bands, axis=-1).astype(np.float64)
    cy, cx = rng.integers(20, SIZE - 20, 2)
    r = rng.integers(4, 12)
    mask = ((yy * SIZE - cy) ** 2 + (xx * SIZE - cx) ** 2 < r * r).astype(np.uint8)
    return image, mask


def main() -> None:
    rng = np.random.default_rng(0)
    for folder, n in COUNTS.items():
        shutil.rmtree(HERE / folder, ignore_errors=True)
        (HERE / folder / "img").mkdir(parents=True)
        (HERE / folder / "mask").mkdir(parents=True)
        for i in range(1, n + 1):
            image, mask = patch(rng)
            if (folder, i) in EMPTY:
                mask[:] = 0
            opts = {"compression": "gzip", "compression_opts": 9, "shuffle": True}
            with h5py.File(HERE / folder / "img" / f"image_{i}.h5", "w") as f:
                f.create_dataset("img", data=image, **opts)
            with h5py.File(HERE / folder / "mask" / f"mask_{i}.h5", "w") as f:
                f.create_dataset("mask", data=mask, **opts)
    archive = HERE / "ValidData.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted((HERE / "ValidData").rglob("*.h5")):
            info = zipfile.ZipInfo(path.relative_to(HERE).as_posix(), (2024, 1, 1, 0, 0, 0))
            zf.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    print(f"ValidData.zip md5: {hashlib.md5(archive.read_bytes()).hexdigest()}")


if __name__ == "__main__":
    main()
