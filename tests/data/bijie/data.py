#!/usr/bin/env python3
"""Write a tiny fake Bijie dataset in the exact upstream layout and formats.

Run from this folder: ``python data.py``. It (re)creates ``Bijie-landslide-dataset/`` and the
archive ``Bijie-landslide-dataset.zip`` (fixed timestamps, so its md5 is stable) and prints the
md5. Quirks reproduced: stems with gaps and different prefixes, variable non-square tile sizes,
masks 0/255 for landslide tiles only, 8-bit and 16-bit single-band DEM PNGs, polygon files with a
closed ring in pixel coordinates. Images are smooth fields so the PNGs stay small.
"""

import hashlib
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
DIRECTORY = "Bijie-landslide-dataset"
LANDSLIDE = ["df003", "hz001", "hz007", "js075", "ny012", "qxg004", "zdf001"]
NON_LANDSLIDE = [
    "ddfgf10157", "dnypl05001", "dzjwv05231", "fyb00213", "fyb00345",
    "hzx00012", "jsx10077", "nyq03350", "qxd00101", "wnz20456",
]  # fmt: skip
SIZE_RANGE = (14, 41)  # tile sides in pixels, drawn independently: non-square


def smooth_field(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A smooth random field in [0, 1], ``[H, W]``."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    f = np.zeros((h, w))
    for _ in range(3):
        fy, fx, ph = rng.uniform(0.02, 0.15, 2).tolist() + [rng.uniform(0, 6.28)]
        f += np.sin(fy * yy + fx * xx + ph)
    return (f - f.min()) / max(f.max() - f.min(), 1e-9)


def write_sample(rng: np.random.Generator, folder: Path, stem: str, landslide: bool, i: int):
    h, w = (int(v) for v in rng.integers(*SIZE_RANGE, size=2))
    rgb = np.stack([smooth_field(rng, h, w) for _ in range(3)], -1)
    Image.fromarray((rgb * 200 + 30).astype(np.uint8), "RGB").save(folder / "image" / f"{stem}.png")
    relief = smooth_field(rng, h, w)
    if i % 2 == 0:  # 16-bit DEM in metres
        dem = (1200 + relief * 900).astype(np.uint16)
        Image.fromarray(dem).save(folder / "dem" / f"{stem}.png")  # mode I;16
    else:  # 8-bit DEM
        Image.fromarray((relief * 255).astype(np.uint8), "L").save(folder / "dem" / f"{stem}.png")
    if not landslide:
        return
    cy, cx = h / 2, w / 2
    angles = np.sort(rng.uniform(0, 2 * np.pi, 6))
    radius = rng.uniform(0.25, 0.45, 6) * min(h, w)
    pts = [
        (int(np.clip(cx + r * np.cos(a), 0, w - 1)), int(np.clip(cy + r * np.sin(a), 0, h - 1)))
        for a, r in zip(angles, radius)
    ]
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).polygon(pts, fill=255)
    mask.save(folder / "mask" / f"{stem}.png")
    ring = [*pts, pts[0]]
    text = f"landslide instance name: {stem}\n"
    text += "landslide instance polygon boundary coordinates(x,y):\n"
    text += "".join(f"{x} {y}\n" for x, y in ring)
    (folder / "polygon_coordinate" / f"{stem}.txt").write_text(text)


def write_zip(src: Path, archive: Path) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(src.rglob("*")):
            rel = path.relative_to(src.parent).as_posix()
            info = zipfile.ZipInfo(rel + ("/" if path.is_dir() else ""), (2020, 1, 1, 0, 0, 0))
            if path.is_dir():
                zf.writestr(info, b"")
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes())


def main() -> None:
    os.chdir(HERE)
    rng = np.random.default_rng(0)
    shutil.rmtree(DIRECTORY, ignore_errors=True)
    base = Path(DIRECTORY)
    for sub in ("image", "dem", "mask", "polygon_coordinate"):
        (base / "landslide" / sub).mkdir(parents=True)
    for sub in ("image", "dem"):
        (base / "non-landslide" / sub).mkdir(parents=True)
    for i, stem in enumerate(LANDSLIDE):
        write_sample(rng, base / "landslide", stem, True, i)
    for i, stem in enumerate(NON_LANDSLIDE):
        write_sample(rng, base / "non-landslide", stem, False, i)
    write_zip(base, Path(f"{DIRECTORY}.zip"))
    md5 = hashlib.md5(Path(f"{DIRECTORY}.zip").read_bytes()).hexdigest()
    print(f"{DIRECTORY}.zip md5: {md5}")


if __name__ == "__main__":
    main()
