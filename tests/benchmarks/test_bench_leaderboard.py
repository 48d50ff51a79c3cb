"""Leaderboard speed against its named peers.

* Safe unpacking (``extract_zip``: every member checked, inflated bytes counted) against the
  unchecked ``zipfile.ZipFile.extractall``, on a Bijie-sized submission (550 masks of 300 px).
* ``predictions_sha256`` (canonical digest of decoded masks) against ``hashlib.sha256`` fed the
  documented canonical bytes directly (the masks are already {0, 1} uint8), the floor for any
  digest of the decoded predictions.

* Schema validation of a committed reference result (``schema_problems``, whose per-image count
  records are checked by a plain type test before jsonschema sees the rest) against the peer,
  jsonschema's validator over the whole document.
* The rank groups' resampled pooled F1 (``resampled_pooled_f1``: a batched matrix product)
  against the peer ``np.einsum`` over the same weights, 3 seeds of 2,099 images, 10,000
  resamples (the demo's Bijie-preset board).

Each contender's result must equal its peer's: the same extracted files, the same digest, the
same problems, the same array.

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


def _unpack(archive: Path, unpack) -> dict[str, bytes]:
    """Unpack into a fresh folder; returns every extracted file's relative path and bytes."""
    dest = Path(tempfile.mkdtemp())
    try:
        unpack(archive, dest)
        return {
            p.relative_to(dest).as_posix(): p.read_bytes()
            for p in sorted(dest.rglob("*"))
            if p.is_file()
        }
    finally:
        shutil.rmtree(dest)


@pytest.fixture(scope="module")
def members(archive) -> dict[str, bytes]:
    """What any correct unpacking yields: every member's name and bytes, read from the zip."""
    with zipfile.ZipFile(archive) as zf:
        return {name: zf.read(name) for name in zf.namelist() if not name.endswith("/")}


def test_bench_extract_zip_checked(benchmark, archive, members):
    files = benchmark(_unpack, archive, extract_zip)
    assert sum(name.endswith(".png") for name in files) == N_MASKS
    assert files == members


def test_bench_zipfile_extractall_peer(benchmark, archive, members):
    def peer(path: Path, dest: Path) -> None:
        with zipfile.ZipFile(path) as zf:
            zf.extractall(dest)

    assert benchmark(_unpack, archive, peer) == members


def _raw_sha256(m: dict[str, np.ndarray]) -> str:
    """The documented canonical bytes fed to hashlib directly (masks already {0, 1} uint8)."""
    digest = hashlib.sha256()
    for key in sorted(m):
        h, w = m[key].shape
        digest.update(f"{key}\n{h}x{w}\n".encode())
        digest.update(m[key].tobytes())
    return digest.hexdigest()


def test_bench_predictions_sha256(benchmark, masks):
    assert benchmark(predictions_sha256, masks) == _raw_sha256(masks)


def test_bench_raw_sha256_peer(benchmark, masks):
    assert benchmark(_raw_sha256, masks) == predictions_sha256(masks)


REFERENCE = Path(__file__).parents[2] / "leaderboard/results/synth-bijie-unet-rgb.json"


def _full_schema_problems(doc: dict) -> list[str]:
    import jsonschema

    from landbench.leaderboard.schema import load_schema

    schema = load_schema("result", doc["schema_version"])
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [e.message for e in validator.iter_errors(doc)]


@pytest.mark.benchmark(group="result-schema-2099-images-3-seeds")
@pytest.mark.parametrize("impl", ["landbench-schema-problems", "jsonschema-whole-document"])
def test_bench_result_schema(benchmark, impl: str) -> None:
    import json

    from landbench.leaderboard.schema import schema_problems

    doc = json.loads(REFERENCE.read_text())
    fn = (
        (lambda d: schema_problems(d, "result"))
        if impl.startswith("landbench")
        else _full_schema_problems
    )
    assert benchmark(fn, doc) == []
    assert _full_schema_problems(doc) == []


@pytest.mark.benchmark(group="resampled-pooled-f1-3x2099x10000")
@pytest.mark.parametrize("impl", ["landbench-matmul", "numpy-einsum"])
def test_bench_resampled_pooled_f1(benchmark, impl: str) -> None:
    from landbench.evaluation.compare import resampled_pooled_f1
    from landbench.evaluation.metrics import resample_weights

    rng = np.random.default_rng(0)
    counts = rng.integers(0, 4096, size=(3, 2099, 4))
    weights = resample_weights(2099, 10000, seed=0)

    def peer() -> np.ndarray:
        pooled = np.einsum(
            "bn,snk->sbk", weights.astype(np.float64), counts[..., :3].astype(np.float64)
        )
        tp, fp, fn = pooled[..., 0], pooled[..., 1], pooled[..., 2]
        den = 2 * tp + fp + fn
        return np.divide(2 * tp, den, out=np.zeros_like(den), where=den > 0)

    fn = (lambda: resampled_pooled_f1(counts, weights)) if impl == "landbench-matmul" else peer
    np.testing.assert_array_equal(benchmark(fn), peer())
