"""Leaderboard speed against its named peers.

* Safe unpacking (``extract_zip``: every member checked, inflated bytes counted) against the
  unchecked ``zipfile.ZipFile.extractall``, on a Bijie-sized submission (550 masks of 300 px).
* ``predictions_sha256`` (canonical digest of decoded masks) against ``hashlib.sha256`` over the
  same masks' raw bytes, the floor for any digest of the decoded predictions.

Measure with ``python -m pytest tests/benchmarks/test_bench_leaderboard.py --benchmark-enable``.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from landbench.leaderboard.archive import extract_zip
from landbench.leaderboard.scoring import predictions_sha256

N_MASKS, SIDE = 550, 300


@pytest.fixture(scope="module")
def masks() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    out = {}
    for i in range(N_MASKS):
        mask = np.zeros((SIDE, SIDE), np.uint8)
        r, c, s = rng.integers(0, SIDE - 60, 3)
        mask[r : r + 20 + s % 40, c : c + 30] = 1
        out[f"tile{i:04d}"] = mask
    return out


@pytest.fixture(scope="module")
def archive(tmp_path_factory, masks) -> Path:
    path = tmp_path_factory.mktemp("bench") / "submission.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("submission.json", "{}")
        for sample_id, mask in masks.items():
            buf = io.BytesIO()
            Image.fromarray(mask * 255).save(buf, format="PNG")
            zf.writestr(f"predictions/bijie/{sample_id}.png", buf.getvalue())
    return path


def _unpack(archive: Path, unpack) -> int:
    dest = Path(tempfile.mkdtemp())
    try:
        unpack(archive, dest)
        return sum(1 for _ in dest.rglob("*.png"))
    finally:
        shutil.rmtree(dest)


def test_bench_extract_zip_checked(benchmark, archive):
    assert benchmark(_unpack, archive, extract_zip) == N_MASKS


def test_bench_zipfile_extractall_peer(benchmark, archive):
    def peer(path: Path, dest: Path) -> None:
        with zipfile.ZipFile(path) as zf:
            zf.extractall(dest)

    assert benchmark(_unpack, archive, peer) == N_MASKS


def test_bench_predictions_sha256(benchmark, masks):
    assert len(benchmark(predictions_sha256, masks)) == 64


def test_bench_raw_sha256_peer(benchmark, masks):
    def peer(m: dict[str, np.ndarray]) -> str:
        digest = hashlib.sha256()
        for key in sorted(m):
            digest.update(m[key].tobytes())
        return digest.hexdigest()

    assert len(benchmark(peer, masks)) == 64
